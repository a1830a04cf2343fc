"""A gateway's statuses carry strictly increasing times: ingest stores each as a point at
its time, and InfluxDB keeps one point per series and time, so two statuses in the same
millisecond (the last heartbeat and a clean stop's ``offline``) would merge into one."""

from __future__ import annotations

import json
import time

import pytest
from iotgw.devices.topics import status_topic
from iotgw.gateway.config import BrokerConfig
from iotgw.gateway.publisher import Publisher

from tests.mqtt_probe import connect

pytestmark = pytest.mark.integration

DEADLINE_S = 20.0


def test_statuses_sent_in_the_same_millisecond_get_distinct_times(broker) -> None:
    gateway = "stamp-gw"
    probe = connect(broker.port, "stamp-probe")
    publisher = Publisher(gateway, BrokerConfig(host=broker.host, port=broker.port), inflight_window=10)
    try:
        assert probe.subscribe(status_topic(gateway)) == "Granted QoS 1"
        publisher.start()
        deadline = time.monotonic() + DEADLINE_S
        while not publisher.connected:
            assert time.monotonic() < deadline, "publisher not connected"
            time.sleep(0.01)
        for _ in range(20):  # far faster than a millisecond each
            publisher.heartbeat({"uptime_s": 1.0})
        publisher.stop()
        while len(probe.messages) < 22:  # online on connect, 20 heartbeats, offline
            assert time.monotonic() < deadline, f"{len(probe.messages)} statuses of 22"
            time.sleep(0.01)
    finally:
        probe.close()
    stamps = [json.loads(payload)["ts"] for _, payload in probe.messages]
    assert stamps == sorted(set(stamps)), stamps
    assert json.loads(probe.messages[-1][1])["state"] == "offline"
