"""Decoding with the registry's tags when the registry may be unreadable (issue 26).

The tag cache (``registry.TagCache``) keeps serving the last good tags of every device it
holds while the registry cannot be read. A device it does *not* hold then cannot be
tagged, nor checked against its gateway, nor told from an unregistered one (not even one
unregistered at the cache's last read: it may have been registered since). Its readings
are dead-lettered with kind ``registry_unavailable`` (the reason names the registry and the
error) and their message is acknowledged; ``iotgw ingest replay`` sends them through again
once the registry is back, and they are then stored with their tags. Either way a device
id the registry does not place costs no query and is not kept (see ``registry.tag_cache``).

Why not leave the message unacknowledged for the broker to keep: MQTT redelivers an
unacknowledged message only after a reconnect, so holding it would hold its in-flight slot
(and, with ack-after-write, the rest of its message's readings) for as long as the
registry is down; dead letters keep the stream moving, are bounded, counted and replayable.
Readings of known devices in the same message are stored as usual: only the unknown
device's readings are split off, one reading per letter, as any rejected reading is.

What holds: no reading of a device the registry could not be asked about is stored, and
none is stored with other tags than its device's (with ``unregistered = "accept"`` too,
which would otherwise store it untagged as if unregistered).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Callable

from iotgw.ingest.points import Context, Decoded, Rejected
from iotgw.registry import DeviceHistory, TagCache
from iotgw.registry.errors import RegistryUnavailable

REGISTRY_UNAVAILABLE = "registry_unavailable"  # dead-letter kind and outcome
_UNREGISTERED = "unregistered"  # what ``ingest.points`` calls a device the lookup found nothing for

Decoder = Callable[[str, bytes, Context], Decoded]


def decode_tagged(decode: Decoder, topic: str, payload: bytes, ctx: Context, cache: TagCache) -> Decoded:
    """``decode`` with ``cache`` as the tag lookup; readings of devices the registry could
    not be asked about come back rejected as ``registry_unavailable`` (see the module)."""
    unavailable: dict[str, str] = {}  # device -> why it could not be looked up

    def lookup(device_id: str) -> DeviceHistory | None:
        try:
            return cache.history(device_id)
        except RegistryUnavailable as exc:  # to ``points``: not found, so it is split off
            unavailable[device_id] = str(exc)
            return None

    decoded = decode(topic, payload, dataclasses.replace(ctx, lookup=lookup))
    if not unavailable:
        return decoded
    if ctx.policy.unregistered != "dead_letter":  # "accept" would have stored them untagged
        unavailable.clear()
        strict = ctx.policy.model_copy(update={"unregistered": "dead_letter"})
        decoded = decode(topic, payload, dataclasses.replace(ctx, policy=strict, lookup=lookup))
    return _relabel(decoded, unavailable)


def _device_of(rejected: Rejected) -> str | None:
    """The device of a one-reading letter as ``ingest.points`` writes it (a v1 batch)."""
    try:
        readings = json.loads(rejected.payload)["readings"]
        return str(readings[0]["device"]) if len(readings) == 1 else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _relabel(decoded: Decoded, unavailable: dict[str, str]) -> Decoded:
    """Turn the ``unregistered`` letters of devices in ``unavailable`` into
    ``registry_unavailable`` ones, counts moved along."""
    rejected = []
    for letter in decoded.rejected:
        device = _device_of(letter) if letter.kind == _UNREGISTERED else None
        if device is not None and device in unavailable:
            decoded.counts[_UNREGISTERED] -= 1
            decoded.counts[REGISTRY_UNAVAILABLE] += 1
            reason = f"device {device}: registry unavailable, tags unknown (replay it): {unavailable[device]}"
            letter = Rejected(REGISTRY_UNAVAILABLE, reason, letter.payload)
        rejected.append(letter)
    decoded.rejected = rejected
    decoded.counts += Counter()  # drop outcomes that fell to zero
    return decoded
