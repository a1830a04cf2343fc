"""A gateway with valid credentials floods ingest with well-formed readings of device ids
no one registered, ever new (``x-000001``, ``x-000002``, ...; 50 a message), beside a good
gateway. Real broker, ingest with a SQLite registry, influxd.

Each id used to cost a registry query on ingest's hot path and an entry in the tag cache
kept until the next registry change, so one gateway could slow every other one and grow
ingest's memory without bound. What holds: the good gateway's readings are all stored, the
flood's are dead-lettered (``unregistered``), the registry is asked only about placed
devices (``iotgw_ingest_registry_lookups``) and the cache holds only their histories
(``iotgw_ingest_tag_cache_devices``), however many ids the flood names.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from iotgw.gateway import GatewayConfig
from iotgw.registry import Sector, make_engine, session_factory

from iotgw.processes import free_port
from tests import registry_setup as reg
from tests.e2e.spine import Spine, tally
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

FLOOD = 20_000 if ledger.LONG else 2_000  # unregistered device ids, each named once
PER_MESSAGE = 50
SINCE = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)


def _registry(path: Path, fleet: GatewayConfig, flooder: str) -> str:
    """The good gateway and its devices, and the flooder: a registered gateway with no device."""
    url = reg.seeded_registry(path)
    with session_factory(make_engine(url))() as session, session.begin():
        [ward] = reg.wards_of(session, 1, 1, current=True)
        for gateway in (fleet.gateway_id, flooder):
            reg.add_gateway(session, gateway, ward=ward, at=SINCE)
        for device in fleet.devices:
            reg.add_device(session, device.id, device.profile, Sector.ENVIRONMENT, ward=ward,
                           at=SINCE, gateway=fleet.gateway_id)
    return url


def _flood(flooder: str) -> list[bytes]:
    now_ms = int(time.time() * 1000)
    return [json.dumps({"v": 1, "gateway": flooder, "seq": m + 1, "replay": False, "readings": [
        {"device": f"x-{n:06d}", "ts": now_ms - 1000, "values": {"soil_moisture": 30.0}}
        for n in range(m * PER_MESSAGE + 1, (m + 1) * PER_MESSAGE + 1)]}).encode()
        for m in range(FLOOD // PER_MESSAGE)]


def _metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(iotgw_\S+) (\S+)$", text, re.M)}


def test_a_flood_of_unregistered_ids_costs_no_query_and_no_memory(spine: Spine) -> None:
    [cfg] = spine.fleet(1, 3, 60, interval_s=0.05)
    flooder = f"{spine.name}-flood"
    url = _registry(spine.workdir / "registry.sqlite", cfg, flooder)
    port = free_port()
    worker = spine.start_ingest(registry_url=url, metrics_port=port)
    gateway = spine.start_gateway(cfg)
    flood = threading.Thread(target=spine.publish_raw, args=(flooder, _flood(flooder)))
    flood.start()
    flood.join(timeout=120)
    assert not flood.is_alive(), "the flood was not published within 120 s"
    assert gateway.wait(120) == 0, gateway.log_tail()
    good = tally(spine, [cfg])
    unregistered = 'iotgw_ingest_reading_outcomes_total{outcome="unregistered"}'
    by_flooder = f'iotgw_ingest_dead_letters_by_gateway_total{{gateway="{flooder}"}}'
    spine.wait_until(lambda: _metrics(port).get(by_flooder) == FLOOD, timeout_s=60,
                     what=f"{FLOOD} dead letters counted for {flooder}")
    metrics = _metrics(port)
    placed = len(cfg.devices)
    lookups = metrics["iotgw_ingest_registry_lookups_total"]
    held = metrics["iotgw_ingest_tag_cache_devices"]
    ledger.none_lost(f"a gateway floods {FLOOD} unregistered device ids beside a good one", good)
    ledger.refused(
        f"{FLOOD} unregistered device ids from a registered gateway ({PER_MESSAGE} a message)",
        ok=metrics.get(unregistered) == FLOOD and lookups <= placed and held <= placed
        and metrics["iotgw_ingest_registry_placed_devices"] == placed and worker.running,
        verdict=f"{metrics.get(unregistered, 0):.0f} readings dead-lettered as unregistered;"
                f" {lookups:.0f} registry lookups and {held:.0f} histories held"
                f" for {placed} placed devices")
