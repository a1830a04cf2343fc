"""SenML device names to ids: every id a name maps to is an id, and the name can be read
back from it, so no two names, however written, share a device's id."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iotgw.devices.senml_names import device_id
from iotgw.devices.topics import is_id

# RFC 8428 4.5.1: a resolved name is of these characters, starting with a letter or digit.
SENML_NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:./_-]{0,70}", fullmatch=True)
NAMES = SENML_NAME | SENML_NAME.map(lambda n: "urn:" + n) | SENML_NAME.map(lambda n: "urn." + n)


def _name_of(identifier: str) -> str:
    """The one name that maps to ``identifier`` (the mapping's inverse)."""
    if identifier.startswith("urn."):
        return "urn:" + identifier[len("urn."):].replace(".", ":")
    return identifier


@given(NAMES)
def test_a_name_maps_to_an_id_it_can_be_read_back_from(name: str) -> None:
    try:
        identifier = device_id(name)
    except ValueError as exc:
        assert repr(name) in str(exc)
        return
    assert is_id(identifier)
    assert _name_of(identifier) == name


@pytest.mark.parametrize(("name", "identifier"), [
    ("urn:dev:ow:10e2073a01080063", "urn.dev.ow.10e2073a01080063"),
    ("urn:dev:mac:0024befffe804ff1", "urn.dev.mac.0024befffe804ff1"),
    ("urn:dev:ops:32473-Refrigerator-5002", "urn.dev.ops.32473-Refrigerator-5002"),
    ("wm-7", "wm-7"),
    ("urn-dev-ow-1", "urn-dev-ow-1"),  # written plainly: its own id, not urn:dev:ow:1's
])
def test_ids_of_names(name: str, identifier: str) -> None:
    assert device_id(name) == identifier


@pytest.mark.parametrize("name", ["urn.dev.ow.1", "iotgw-admin:", "gw:1", "a/b", "urn:a.b", "URN:dev:ow:1",
                                  "urn:" + "x" * 61])
def test_names_that_map_to_no_id_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="device name"):
        device_id(name)
