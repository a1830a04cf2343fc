"""A scenario's fleet through the real broker and ingest: history, live, a power cut and
malformed payloads, with every reading accounted for."""

from __future__ import annotations

import time

import pytest
from iotgw.gateway.config import BrokerConfig
from iotgw.simulators.history import DAY_MS, offline_windows
from iotgw.simulators.malformed import KINDS
from iotgw.simulators.runner import FleetRunner, live_samples, with_samples
from iotgw.simulators.scenario import GatewayFaults, Scenario, SiteKind, build_fleet, gateway_configs

from tests.e2e.spine import Spine

pytestmark = pytest.mark.integration

SCENARIO = Scenario(
    name="test", province=82, id_prefix="tst", seed=3, interval_s=900, devices_per_gateway=3,
    sites=[SiteKind(kind="farm", name="Trang trại", org_type="farm", sector="agriculture", count=2,
                    devices=["soil_probe", "weather_station"], communes=["Xã Tháp Mười"]),
           SiteKind(kind="salinity", name="Trạm", sector="environment", count=1,
                    devices=["water_quality"], communes=["Xã Chợ Gạo"])],
    faults=GatewayFaults(offline_per_day=1.0, offline_hours=5, malformed_per_day=10),
)


def test_history_and_live_arrive_whole_through_a_power_cut_and_malformed_payloads(spine: Spine) -> None:
    spine.start_ingest()
    fleet = build_fleet(SCENARIO)
    assert sorted(len(g.devices) for g in fleet.gateways) == [1, 1, 3]  # Tháp Mười: two gateways
    broker = BrokerConfig(port=spine.broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    samples = live_samples(4, 0.5)
    configs = with_samples(gateway_configs(fleet, broker=broker, buffer_dir=spine.workdir, interval_s=0.5),
                           samples)
    runner = FleetRunner(fleet, configs)
    now = int(time.time() * 1000)
    history = runner.backfill(days=2, now_ms=now)
    windows = {c.gateway_id: offline_windows(c.gateway_id, SCENARIO.seed, SCENARIO.faults,
                                             now - 2 * DAY_MS, now) for c in configs}
    assert history["offline"] > 0 and all(windows.values())  # every gateway was off some day

    cut = int(time.time() * 1000) + 1_500  # live: the first gateway is off for 2 s
    report = runner.run(live_s=4, timeout_s=120, malformed_per_gateway=runner.malformed_count(1),
                        windows={configs[0].gateway_id: [(cut, cut + 2_000)]})

    assert report.power_cuts == 1  # the first gateway was stopped, and came back from its buffer
    assert report.live_read == samples * fleet.devices
    assert report.acked == history["read"] + report.live_read
    assert spine.wait_for_count(report.acked) == report.acked  # every reading stored once
    stored = spine.stored()
    for config in configs:
        off = windows[config.gateway_id]
        for device in config.devices:
            assert not [p for p in stored[device.id] if any(
                a <= p["time"] < b for a, b in off)], "a reading from while the gateway was off"
    assert sum(report.malformed.values()) == 10 * len(configs)
    assert set(report.malformed) == set(KINDS)
    spine.wait_until(lambda: len(spine.dead_letters()) >= 10 * len(configs), timeout_s=30,
                     what="every malformed payload dead-lettered")
    assert len(spine.dead_letters()) == 10 * len(configs)



def test_a_gateway_off_for_the_whole_live_phase_comes_back_at_its_end_and_drains(spine: Spine) -> None:
    spine.start_ingest()
    scenario = SCENARIO.model_copy(update={
        "sites": SCENARIO.sites[1:], "faults": GatewayFaults(offline_per_day=1.0, offline_hours=24)})
    fleet = build_fleet(scenario)  # one salinity station, its gateway off all of today
    broker = BrokerConfig(port=spine.broker.port, reconnect_min_s=0.2, reconnect_max_s=1.0)
    configs = with_samples(gateway_configs(fleet, broker=broker, buffer_dir=spine.workdir, interval_s=0.5), 2)

    report = FleetRunner(fleet, configs).run(live_s=1, timeout_s=60)

    assert report.live_read == report.acked == 2
    assert spine.wait_for_count(2) == 2
