from __future__ import annotations

import json

import pytest
from iotgw.devices import Reading, TelemetryBatch
from iotgw.gateway import DeviceConfig, UnknownDriver, build_sources
from iotgw.gateway.buffer import Pending
from iotgw.gateway.schedule import Schedule
from iotgw.gateway.service import encode_batch
from iotgw.simulators import SimulatedSource, UnknownProfile
from pydantic import ValidationError


def test_batch_built_from_buffered_json_is_a_valid_v1_message() -> None:
    readings = [Reading(device=f"d{i}", ts=1_763_800_000_000 + i, values={"voltage": 230.5})
                for i in range(3)]
    pending = Pending([1], ",".join(r.model_dump_json() for r in readings), 3)
    batch = TelemetryBatch.model_validate_json(encode_batch("gw-1", 17, True, pending))
    assert (batch.gateway, batch.seq, batch.replay) == ("gw-1", 17, True)
    assert batch.readings == readings
    assert json.loads(encode_batch("gw-1", 18, False, pending))["replay"] is False


def _device(**changes) -> DeviceConfig:
    return DeviceConfig(**{"id": "d1", "driver": "simulated", "profile": "soil_probe",
                           "interval_s": 1.0, **changes})


def test_unknown_driver_is_named() -> None:
    known = r"known: \['simulated'\]"
    with pytest.raises(UnknownDriver, match=rf"device 'd1': unknown driver 'mqtt_node'; {known}"):
        build_sources([_device(driver="mqtt_node")], {"simulated": SimulatedSource})


def test_unknown_simulated_profile_is_named() -> None:
    with pytest.raises(UnknownProfile, match="no simulated profile 'pest_trap'"):  # a profile, no signal
        build_sources([_device(profile="pest_trap")], {"simulated": SimulatedSource})


def test_simulated_source_resumes_from_its_checkpoint() -> None:
    source = SimulatedSource(_device(samples=3))
    source.read(1_763_800_000_000)
    source.read(1_763_800_001_000)
    resumed = SimulatedSource(_device(samples=3))
    resumed.restore(source.checkpoint())
    assert not resumed.finished
    resumed.read(1_763_800_002_000)
    assert resumed.finished


def test_jitter_spreads_reads_within_their_slot_at_a_fixed_rate() -> None:
    device = DeviceConfig(id="d1", driver="simulated", profile="soil_probe", interval_s=1.0, jitter_s=0.4)
    item = Schedule(SimulatedSource(device), slot=100.0, jitter_s=0.4)
    dues = []
    for _ in range(200):
        dues.append(item.due - item.slot)
        item.next(now=item.slot)  # read on time
    assert item.slot == 300.0  # the rate is the interval's, whatever the jitter
    assert all(0 <= d <= 0.4 for d in dues) and max(dues) - min(dues) > 0.2
    item.next(now=1_000.0)  # after a stall: the missed slots are skipped
    assert item.slot == 1_001.0
    with pytest.raises(ValidationError, match="jitter_s"):
        DeviceConfig(id="d1", driver="simulated", profile="soil_probe", interval_s=1.0, jitter_s=1.0)
