"""ChirpStack v4 uplink events, as its MQTT integration publishes them, into readings."""

from __future__ import annotations

import json

import pytest
from iotgw.gateway.drivers.lorawan.uplink import FieldMap, Unmappable, parse

from tests.gateway.drivers.lorawan.chirpstack import DEV_EUI, uplink

FIELDS = [FieldMap("soil.moisture", "soil_moisture", 0.1), FieldMap("soil.temperature", "soil_temperature"),
          FieldMap("soil.conductivity", "soil_ec")]
RECEIVED_MS = 1_790_000_000_000


def _parse(event: dict | bytes):
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    return parse(payload, dev_eui=DEV_EUI, device_id="probe-7", fields=FIELDS, received_ms=RECEIVED_MS)


def test_decoded_fields_become_scaled_quantities_at_the_uplink_time() -> None:
    got = _parse(uplink("soil_probe"))
    assert got.reading.device == "probe-7"
    assert got.reading.values == pytest.approx({"soil_moisture": 41.2, "soil_temperature": 23.4,
                                                "soil_ec": 640.0})
    # 2026-11-29T08:15:02.123456789Z, nanoseconds cut to the millisecond
    assert got.reading.ts == 1_795_940_102_123
    assert got.timed_by_network
    assert got.frame == ("00189440", 10)


def test_an_uplink_without_time_is_stamped_on_receipt_and_fcnt_zero_is_left_out() -> None:
    got = _parse(uplink("first_frame_no_time"))
    assert got.reading.ts == RECEIVED_MS and not got.timed_by_network
    assert got.frame == ("01fa23c7", 0)  # the JSON mapping omits a zero fCnt
    assert got.reading.values == pytest.approx({"soil_moisture": 39.8})  # the fields it has


def test_a_boolean_field_is_zero_or_one() -> None:
    event = uplink("soil_probe", object={"soil": {"moisture": True}})
    assert _parse(event).reading.values == {"soil_moisture": 0.1}


@pytest.mark.parametrize(("event", "why"), [
    (uplink("no_codec"), "no decoded object"),
    (uplink("soil_probe", object={"battery_v": 3.3}), "none of the configured fields"),
    (uplink("soil_probe", object={"soil": {"moisture": "wet"}}), "not a number"),
    (uplink("soil_probe", deviceInfo={"devEui": "0000000000000001"}), "not 'a84041000181c3e5'"),
    (uplink("soil_probe", time="yesterday"), "not RFC 3339"),
    (uplink("soil_probe", fCnt="ten"), "fCnt"),
    (b"\x00\xffnot json", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
])
def test_an_uplink_that_gives_no_reading_says_why(event: dict | bytes, why: str) -> None:
    with pytest.raises(Unmappable, match=why):
        _parse(event)
