"""Two gateways with one id (a cloned SD card): two real agents with the same gateway id
and config, each with its own buffer and devices, on the spine's anonymous broker.

Mosquitto closes the older connection whenever the other connects. Before the agents
notice, that happens several times a second; once they do, both back off (each takeover
doubles the victim's reconnect delay, capped short here by ``takeover_backoff_max_s``),
so takeovers become rare, an agent's log names the conflict, the heartbeats stored in
``gateway_health`` carry ``id_conflicts``, and each agent, in its turns, delivers every
reading its devices made."""

from __future__ import annotations

import re
import time

import pytest
from iotgw.gateway.config import BrokerConfig, GatewayConfig, PublishConfig
from iotgw.simulators import simulated_fleet, write_config
from iotgw.tsdb.schema import GATEWAY_HEALTH

from iotgw.processes import IotgwProcess
from tests.e2e.spine import Spine, tally
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SAMPLES = 90  # at 0.5 s: 45 s of readings, long enough to watch the backoff settle
BACKOFF_MAX_S = 8.0
AFTER_S = (5.0, 35.0)  # the window after detection where takeovers are counted
TOLD = "another client is connected as {gw}"


def _start(spine: Spine, cfg: GatewayConfig, name: str) -> IotgwProcess:
    """An agent under its own name (log, config file): the two share a gateway id."""
    cfg = cfg.model_copy(update={"publish": PublishConfig(max_readings_per_batch=100, heartbeat_s=0.5)})
    path = write_config(cfg, spine.workdir / f"{name}.toml")
    proc = IotgwProcess(spine.workdir, name, ["gateway", "run", "--exit-when-drained", "--config", str(path)])
    proc.start()
    spine.processes.append(proc)
    return proc


def _takeovers(spine: Spine, gateway_id: str, start_s: float, end_s: float) -> int:
    """Mosquitto's "already connected" lines for the id, stamped within [start_s, end_s)."""
    pattern = re.compile(rf"^(\d+): Client {re.escape(gateway_id)} already connected", re.M)
    text = spine.broker.log_path.read_text(errors="replace")
    return sum(start_s <= int(m.group(1)) < end_s for m in pattern.finditer(text))


def _told(proc: IotgwProcess, gateway_id: str) -> bool:
    return TOLD.format(gw=gateway_id) in proc.log_path.read_text(errors="replace")


def test_two_gateways_with_one_id_stop_flapping_say_so_and_lose_nothing(spine: Spine) -> None:
    spine.start_ingest()
    broker = BrokerConfig(host=spine.broker.host, port=spine.broker.port, reconnect_min_s=0.2,
                          reconnect_max_s=1.0, takeover_count=3, takeover_window_s=30,
                          takeover_backoff_max_s=BACKOFF_MAX_S)
    buffers = spine.workdir / "buffers"
    buffers.mkdir(exist_ok=True)
    [original] = simulated_fleet(1, 2, broker=broker, buffer_dir=buffers, interval_s=0.5,
                                 samples=SAMPLES, prefix=spine.name)
    # The clone: same id and broker settings, its own buffer and devices (so the tally can
    # tell whose readings arrived).
    [clone] = simulated_fleet(1, 2, broker=broker, buffer_dir=buffers, interval_s=0.5,
                              samples=SAMPLES, prefix=f"{spine.name}c")
    clone = clone.model_copy(update={"gateway_id": original.gateway_id})
    gw = original.gateway_id
    a = _start(spine, original, "agent-a")
    spine.wait_until(lambda: "connected to broker" in a.log_path.read_text(errors="replace"),
                     timeout_s=30, what="the first agent connected")
    started_s = time.time()
    b = _start(spine, clone, "agent-b")
    spine.wait_until(lambda: _told(a, gw) or _told(b, gw), timeout_s=30, what="the conflict named in a log")
    detected_s = time.time()
    spine.wait_until(lambda: time.time() > detected_s + AFTER_S[1] + 1.5, timeout_s=AFTER_S[1] + 5,
                     what="the window after detection")  # +1.5: Mosquitto's whole-second stamps
    before = _takeovers(spine, gw, int(started_s), int(detected_s) + 1)
    after = _takeovers(spine, gw, int(detected_s + AFTER_S[0]), int(detected_s + AFTER_S[1]))
    window_min = (AFTER_S[1] - AFTER_S[0]) / 60
    # Undamped, the pair flaps at reconnect_min_s (several a second: 100+ in the window);
    # damped, each takeover waits at least the victim's delay, reaching 8 s.
    assert before >= 3, f"only {before} takeovers before detection: the clones did not collide"
    assert after <= 8, f"{after} takeovers in {window_min * 60:.0f} s after detection: still flapping"
    assert a.wait(60) == 0, a.log_tail()
    assert b.wait(60) == 0, b.log_tail()
    rows = spine.influx.query(spine.database, f'SELECT max("id_conflicts") FROM "{GATEWAY_HEALTH}"'
                                              f" WHERE \"gateway\" = '{gw}'")
    stored = rows[0].rows[0]["max"] if rows and rows[0].rows else None
    assert stored is not None and stored >= 3, f"gateway_health id_conflicts: {stored}"
    ledger.none_lost(f"two gateways with one id (cloned SD card): takeovers {before} before detection,"
                     f" {after / window_min:.0f}/min after; told, id_conflicts={stored:g} stored",
                     tally(spine, [original, clone]))
