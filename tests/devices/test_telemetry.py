from __future__ import annotations

import json
import re

import pytest
from iotgw.devices import QUANTITIES, GatewayStatus, Kind, Quality, TelemetryBatch
from iotgw.devices.telemetry import MAX_HEALTH_KEYS, MAX_TS_MS
from pydantic import ValidationError

GOOD = {"v": 1, "gateway": "gw-1", "seq": 3, "replay": True, "readings": [
    {"device": "soil-1", "ts": 1_763_800_000_000, "values": {"soil_moisture": 31.5}},
]}


def test_a_valid_batch_round_trips() -> None:
    batch = TelemetryBatch.model_validate_json(json.dumps(GOOD))
    assert batch.readings[0].quality is Quality.GOOD
    assert TelemetryBatch.model_validate_json(batch.model_dump_json()) == batch


def _with(**changes) -> dict:
    data = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value
    return data


@pytest.mark.parametrize(("changes", "where"), [
    ({"v": 2}, "v"),
    ({"seq": -1}, "seq"),
    ({"gateway": "a/b"}, "gateway"),
    ({"readings": []}, "readings"),
    ({"readings__0__ts": 0}, "readings.0.ts"),
    ({"readings__0__values": {}}, "readings.0.values"),
    ({"readings__0__values": {"warp_speed": 9.0}}, "readings.0.values"),
    ({"readings__0__values": {"soil_moisture": "wet"}}, "readings.0.values.soil_moisture"),
    ({"readings__0__quality": "great"}, "readings.0.quality"),
    ({"readings__0__extra": 1}, "readings.0.extra"),
    ({"extra": 1}, "extra"),
])
def test_invalid_batches_name_what_is_wrong(changes: dict, where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TelemetryBatch.model_validate(_with(**changes))
    locs = {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}
    assert where in locs


def test_non_finite_values_are_refused() -> None:
    payload = json.dumps(GOOD).replace("31.5", "NaN")
    with pytest.raises(ValidationError):
        TelemetryBatch.model_validate_json(payload)


def test_catalogue_covers_the_plans_sectors() -> None:
    required = {"soil_moisture", "soil_temperature", "soil_ec", "air_temperature",
                "relative_humidity", "pm2_5", "water_level", "salinity", "dissolved_oxygen",
                "active_energy", "voltage", "water_volume"}
    assert required <= QUANTITIES.keys()
    assert {q.name for q in QUANTITIES.values() if q.kind is Kind.COUNTER} == {
        "active_energy", "water_volume", "rainfall"}
    assert QUANTITIES["pm2_5"].in_range(35.0) and not QUANTITIES["pm2_5"].in_range(-1.0)


def test_times_are_storable() -> None:
    """InfluxDB keeps int64 nanoseconds: the last storable millisecond is the limit."""
    TelemetryBatch.model_validate(_with(readings__0__ts=MAX_TS_MS))
    with pytest.raises(ValidationError, match="less than or equal to 9223372036854"):
        TelemetryBatch.model_validate(_with(readings__0__ts=MAX_TS_MS + 1))
    GatewayStatus(state="online", ts=MAX_TS_MS)
    with pytest.raises(ValidationError, match="less than or equal to"):
        GatewayStatus(state="online", ts=10**400)


def test_the_agents_health_keys_are_accepted() -> None:
    health = {"uptime_s": 12.0, "rss_peak_bytes": 1e8, "buffer_oldest_age_s": 0.0, "dropped_full": 0.0,
              "ring_depth": 3.0, "x" * 64: 1.0, "a1_b2": -0.0}
    assert GatewayStatus(state="online", health=health).health == health


@pytest.mark.parametrize("key", ["time", "online", "", "a\nb", "ok\n", "a b", "a,b", "a=b", "\\", "Uptime",
                                 "1st", "_x", "ụ", "x" * 65])
def test_health_keys_that_are_not_plain_identifiers_are_refused(key: str) -> None:
    with pytest.raises(ValidationError, match=f"health key {re.escape(repr(key)[:41])}.* not allowed"):
        GatewayStatus(state="online", health={"uptime_s": 1.0, key: 1.0})


def test_health_is_bounded() -> None:
    with pytest.raises(ValidationError, match=f"at most {MAX_HEALTH_KEYS}"):
        GatewayStatus(state="online", health={f"k{i}": 1.0 for i in range(MAX_HEALTH_KEYS + 1)})
    with pytest.raises(ValidationError, match="finite number"):
        GatewayStatus.model_validate_json(b'{"state":"online","health":{"x":' + b"9" * 400 + b"}}")
