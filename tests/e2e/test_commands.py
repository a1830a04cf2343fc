"""Remote commands to a running gateway over the real broker: ping, rebirth, a bad reload
that leaves the running configuration untouched, a good one that adds a device."""

from __future__ import annotations

import json
import time

import pytest
from iotgw.devices import cmd_topic, result_topic, status_topic

from tests.e2e.spine import Spine
from tests.mqtt_probe import Probe, connect

pytestmark = pytest.mark.integration


def _ask(probe: Probe, gateway: str, name: str, payload: bytes) -> dict:
    before = len(probe.messages)
    probe.publish(cmd_topic(gateway, name), payload)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for topic, body in probe.messages[before:]:
            if topic == result_topic(gateway, name):
                return json.loads(body)
        time.sleep(0.05)
    raise AssertionError(f"no answer to {name}")


def test_ping_rebirth_and_reload_over_cmd(spine: Spine) -> None:
    spine.start_ingest()
    [cfg] = spine.fleet(1, 2, samples=100_000, interval_s=0.2)
    gateway = cfg.gateway_id
    spine.start_gateway(cfg)
    config_path = spine.workdir / f"{gateway}.toml"
    probe = connect(spine.broker.port, f"{spine.name}-operator")
    probe.subscribe(f"iot/v1/{gateway}/result/#")
    try:
        spine.wait_until(lambda: spine.count() > 0, what="first readings")
        pong = _ask(probe, gateway, "ping", b'{"id": "p1"}')
        assert pong["id"] == "p1" and pong["ok"] and pong["result"]["uptime_s"] >= 0

        probe.subscribe(status_topic(gateway))
        seen = len(probe.messages)
        assert _ask(probe, gateway, "rebirth", b"{}")["ok"]
        statuses = [json.loads(b) for t, b in probe.messages[seen:] if t == status_topic(gateway)]
        assert any(s["state"] == "online" and "uptime_s" in s["health"] for s in statuses)

        good = config_path.read_text()
        config_path.write_text(good.replace("interval_s = 0.2", "interval_s = -1", 1))
        refused = _ask(probe, gateway, "reload", b'{"id": "r1"}')
        assert not refused["ok"] and "the running one is kept" in refused["error"]
        assert "interval_s: Input should be greater than 0" in refused["error"]
        before = spine.count()
        spine.wait_until(lambda: spine.count() > before + 5, what="readings after the bad reload")

        config_path.write_text(good.replace(f"port = {spine.broker.port}", "port = 1", 1))
        assert "broker changed: that needs a restart" in _ask(probe, gateway, "reload", b"{}")["error"]

        added = good + ('\n[[devices]]\nid = "' + f"{gateway}-new" + '"\ndriver = "simulated"\n'
                        'profile = "air_quality"\ninterval_s = 0.2\n')
        config_path.write_text(added)
        applied = _ask(probe, gateway, "reload", b'{"id": "r2"}')
        assert applied == {"id": "r2", "command": "reload", "ok": True, "result": {"devices": 3}}
        spine.wait_until(lambda: f"{gateway}-new" in spine.stored(), what="the new device's readings")

        assert "unknown command 'dance'" in _ask(probe, gateway, "dance", b"{}")["error"]
        assert "not JSON" in _ask(probe, gateway, "ping", b"\xff")["error"]
    finally:
        probe.close()
