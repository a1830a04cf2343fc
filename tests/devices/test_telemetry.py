from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from devices import QUANTITIES, Kind, Quality, TelemetryBatch

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
        "active_energy", "water_volume"}
    assert QUANTITIES["pm2_5"].in_range(35.0) and not QUANTITIES["pm2_5"].in_range(-1.0)
