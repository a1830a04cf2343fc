"""Decoding while the registry cannot be read (issue 26): known devices keep their last good
tags, a device never seen is dead-lettered as ``registry_unavailable`` whatever the
``unregistered`` policy, and one message's other readings are stored. A real SQLite registry,
renamed away as an operator's mistake would."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from iotgw.devices import telemetry_topic
from iotgw.ingest.config import PolicyConfig
from iotgw.ingest.decode import decode_message
from iotgw.ingest.points import Context
from iotgw.ingest.tag_lookup import REGISTRY_UNAVAILABLE, decode_tagged
from iotgw.registry import TagCache, make_engine, session_factory

from tests.registry.soil_registry import Clock, soil_registry_file


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    return soil_registry_file(tmp_path / "registry.sqlite", ("soil-1", "soil-2"))


def _message(now_ms: int, *devices: str) -> bytes:
    return json.dumps({"v": 1, "gateway": "gw-1", "seq": 1, "readings": [
        {"device": d, "ts": now_ms - 1000, "values": {"soil_moisture": 30.0}} for d in devices]}).encode()


@pytest.mark.parametrize("unregistered", ["dead_letter", "accept"])
def test_unknown_devices_wait_for_the_registry(registry: Path, unregistered: str) -> None:
    clock = Clock()
    cache = TagCache(session_factory(make_engine(f"sqlite:///{registry}", must_exist=True)),
                     check_every_s=5, clock=clock)
    now_ms = int(time.time() * 1000)
    ctx = Context(now_ms, policy=PolicyConfig(unregistered=unregistered))  # type: ignore[arg-type]
    topic = telemetry_topic("gw-1")
    first = decode_tagged(decode_message, topic, _message(now_ms, "soil-1"), ctx, cache)
    assert len(first.lines) == 1 and "commune=70" in first.lines[0]
    os.rename(registry, registry.with_name("away.sqlite"))
    clock.now = 5.0
    out = decode_tagged(decode_message, topic, _message(now_ms, "soil-1", "soil-2", "ghost"), ctx, cache)
    assert len(out.lines) == 1 and out.lines[0].startswith("telemetry,commune=70,device=soil-1,")
    assert [(r.kind, json.loads(r.payload)["readings"][0]["device"]) for r in out.rejected] == [
        (REGISTRY_UNAVAILABLE, "soil-2"), (REGISTRY_UNAVAILABLE, "ghost")]
    assert all(str(registry) in r.reason and "unreadable" in r.reason for r in out.rejected)
    assert out.counts == {REGISTRY_UNAVAILABLE: 2}
    os.rename(registry.with_name("away.sqlite"), registry)
    clock.now = 10.0
    back = decode_tagged(decode_message, topic, _message(now_ms, "soil-2", "ghost"), ctx, cache)
    assert "device=soil-2" in back.lines[0] and "commune=70" in back.lines[0]
    if unregistered == "dead_letter":  # the ghost is now known to be unregistered
        assert [r.kind for r in back.rejected] == ["unregistered"] and len(back.lines) == 1
    else:
        assert not back.rejected and "unregistered=true" in back.lines[1]
