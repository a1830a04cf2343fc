"""Decoding while the registry cannot be read (issue 26): known devices keep their last good
tags, a device never seen is dead-lettered as ``registry_unavailable`` whatever the
``unregistered`` policy, and one message's other readings are stored. A real SQLite registry,
renamed away as an operator's mistake would."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import pytest

from devices import telemetry_topic
from ingest.config import PolicyConfig
from ingest.decode import decode_message
from ingest.points import Context
from ingest.tag_lookup import REGISTRY_UNAVAILABLE, decode_tagged
from registry import (
    Device,
    Gateway,
    Sector,
    SubjectKind,
    TagCache,
    make_engine,
    place,
    seed_admin_units,
    session_factory,
    upgrade,
)

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "registry.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_factory(engine)() as session, session.begin():
        seed_admin_units(session)
        session.add(Gateway(id="gw-1", installed_on=T0.date()))
        for device in ("soil-1", "soil-2"):
            session.add(Device(id=device, profile="soil_probe", sector=Sector.AGRICULTURE,
                               expected_interval_s=300, installed_on=T0.date()))
        session.flush()
        for device in ("soil-1", "soil-2"):
            place(session, SubjectKind.DEVICE, device, at=T0, ward_code=70, gateway_id="gw-1")
    engine.dispose()
    return path


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
