"""The three nodes run on the host with fake hardware and reach InfluxDB through a real
Mosquitto and ingest, like any gateway; offline, readings wait in the flash ring."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from iotgw_node import modbus_rtu, readers
from iotgw_node.node import Node

from iotgw.processes import free_port
from tests.e2e.spine import Spine
from tests.firmware_stubs.fakes import FakeHal, FakeUart
from tests.firmware_stubs.test_frames import pms_frame

pytestmark = pytest.mark.integration

NOW_MS = 1_790_000_000_000


def _probe(request: bytes) -> bytes:
    """An RS-485 soil probe: answers a read of its 3 holding registers (unit 1)."""
    assert request == modbus_rtu.read_request(1, 3, 0, 3)
    body = struct.pack(">BBB3H", 1, 3, 6, 0x013A, 0xFFE7, 0x0366)
    return body + struct.pack("<H", modbus_rtu.crc16(body))


def _node(spine: Spine, tmp_path: Path, node_id: str, read, port: int | None = None) -> tuple[Node, FakeHal]:
    hal = FakeHal(tmp_path, NOW_MS, spine.broker.port)
    config = {"node_id": node_id, "broker": "127.0.0.1", "port": port or spine.broker.port,
              "ring_size": 5}
    return Node(hal, config, read), hal


def test_soil_air_and_water_nodes_reach_influxdb(spine: Spine, tmp_path: Path) -> None:
    spine.start_ingest()
    soil_uart, air_uart = FakeUart(answer=_probe), FakeUart(stream=pms_frame(17) + pms_frame(23))
    nodes = [
        _node(spine, tmp_path / "soil", f"{spine.name}-soil", lambda: readers.soil_probe(soil_uart, 1)),
        _node(spine, tmp_path / "air", f"{spine.name}-air", lambda: readers.air_quality(air_uart)),
        _node(spine, tmp_path / "water", f"{spine.name}-water", lambda: readers.water_meter(1234, 1.0)),
    ]
    for node, hal in nodes:
        hal.dir.mkdir()
        assert node.cycle() == 1
        hal.clock_ms += 60_000
        assert node.cycle() == 1
    assert spine.wait_for_count(6) == 6
    stored = spine.stored()
    assert [r["soil_ec"] for r in stored[f"{spine.name}-soil"]] == [870.0, 870.0]
    assert stored[f"{spine.name}-soil"][0]["soil_temperature"] == -2.5
    assert [r["pm2_5"] for r in stored[f"{spine.name}-air"]] == [17.0, 23.0]
    assert stored[f"{spine.name}-water"][0]["water_volume"] == 1.234
    # a third air cycle finds no valid frame: counted, nothing sent, the node carries on
    air, air_hal = nodes[1]
    assert air.cycle() == 0 and air.read_errors == 1 and "read failed" in air_hal.logs[-1]


def test_offline_readings_wait_in_the_ring_and_the_clock_must_be_set(spine: Spine, tmp_path: Path) -> None:
    spine.start_ingest()
    probe = FakeUart(answer=_probe)
    node, hal = _node(spine, tmp_path, f"{spine.name}-soil", lambda: readers.soil_probe(probe, 1),
                      port=free_port())  # nothing listens there: the broker is unreachable
    for minute in range(7):
        hal.clock_ms = NOW_MS + minute * 60_000
        assert node.cycle() == 0
    assert len(node.ring.items()) == 5 and node.ring.dropped == 2  # the oldest 2 dropped, counted
    assert "broker unreachable, 5 readings kept" in hal.logs[-1]

    node.config["port"] = spine.broker.port
    hal.clock_ms = 1_000  # a reboot before NTP: the reading cannot be placed in time
    assert node.cycle() == 0 and node.unclocked == 1 and len(node.ring.items()) == 5
    hal.clock_ms = NOW_MS + 10 * 60_000
    assert node.cycle() == 5  # this reading and the 4 newest kept
    assert spine.wait_for_count(5) == 5
    times = [r["time"] for r in spine.stored()[f"{spine.name}-soil"]]
    assert min(times) >= NOW_MS and node.ring.items() == [] and node.ring.dropped == 3
