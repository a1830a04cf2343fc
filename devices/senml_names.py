"""The device id of a SenML device name: one id per name, never one id for two names.

SenML names may hold ``:`` and ``/`` (RFC 8428 4.5.1), ids may not (``devices.topics``),
and RFC 8428's own examples name devices by URN (``urn:dev:ow:10e2073a01080063``, RFC
9039). The mapping:

- a name that is an id is that id (``wm-7``, ``st-1``), except one starting ``urn.``;
- ``urn:<rest>`` whose ``<rest>`` has no ``.`` or ``/`` becomes ``urn.<rest>`` with every
  ``:`` replaced by ``.``, if that is an id (``urn:dev:ow:10e2073a01080063`` is device
  ``urn.dev.ow.10e2073a01080063``; register it under that id);
- anything else is rejected with the reason: other names with ``:`` or ``/``, ``urn:``
  names with ``.``, and names that already start ``urn.`` (they are the mapping's).

So the mapping is injective: ids from the first rule never start ``urn.`` and those from
the second always do, and the second is undone by replacing ``.`` with ``:`` because its
names have no ``.``. A differently written name can therefore never land on another's id.
Simpler mappings would not be: ``:`` to ``-`` makes ``urn:dev:ops:32473-Fridge-5002`` (RFC
9039 puts ``-`` inside URNs) and ``urn:dev:ops:32473:Fridge:5002`` one device, and
``urn-dev-ow-X`` written plainly would be ``urn:dev:ow:X``. The uppercase ``URN:`` is not
mapped (rejected), which keeps one spelling per device. Pure.
"""

from __future__ import annotations

from iotgw.devices.topics import ALLOWED, is_id

URN, MAPPED = "urn:", "urn."


def device_id(name: str) -> str:
    """The id of the device a SenML name's device part names.

    Raises:
        ValueError: the name maps to no id, with the reason.
    """
    if name.startswith(MAPPED):
        raise ValueError(f"device name {name!r}: names starting {MAPPED!r} are reserved for"
                         f" {URN!r} names (write it {URN + name[len(MAPPED):].replace('.', ':')!r})")
    if is_id(name):
        return name
    if name.startswith(URN) and not {".", "/"} & set(rest := name[len(URN):]):
        mapped = MAPPED + rest.replace(":", ".")
        if is_id(mapped):
            return mapped
    raise ValueError(f"device name {name!r} maps to no id: only a {URN!r} name without '.' or"
                     f" '/' may hold ':' (each becomes '.'), and an id is {ALLOWED}")
