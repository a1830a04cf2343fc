"""Poison messages (issue 18): payloads that once made the decoder raise, so that the worker
exited, the message came back unacknowledged and the worker exited again. Each is
published by one gateway on its own topics, through the real broker, to a real ingest
worker beside a good gateway: each must be dead-lettered with its reason, the worker
must never exit, and the good gateway's readings must all arrive."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pytest
from iotgw.devices import status_topic, telemetry_topic
from iotgw.ingest.consumer import SUBSCRIBED

from tests.e2e.spine import Spine, tally
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]

NOW_MS = 1_790_000_000_000


@dataclass(frozen=True)
class Poison:
    fault: str
    kind: Literal["telemetry", "status"]
    payload: bytes
    reason: str  # what the dead letter's reason says


def _status(health_key: str) -> bytes:
    return json.dumps({"v": 1, "state": "online", "ts": NOW_MS, "health": {health_key: 1.0}}).encode()


def poison_messages(gateway: str) -> list[Poison]:
    """The issue's poison payloads, and a batch time of 400 digits (found with them)."""
    big_pack = [{"bn": "meter-9:voltage", "bu": "V", "v": 230.0, "t": -i} for i in range(10_001)]
    return [
        Poison("status health key 'time'", "status", _status("time"), "health key 'time' not allowed"),
        Poison("status health key ''", "status", _status(""), "health key '' not allowed"),
        Poison("status health key 'a\\nb'", "status", _status("a\nb"), "health key 'a\\nb' not allowed"),
        Poison("SenML t=1e308", "telemetry", b'[{"bn":"meter-9:","n":"voltage","u":"V","v":230,"t":1e308}]',
               "time 1e+308 s is outside what can be stored"),
        Poison("SenML value of 400 digits", "telemetry",
               b'[{"bn":"meter-9:","n":"voltage","u":"V","v":' + b"9" * 400 + b"}]",
               "v must be a finite number, not an integer of 400 digits"),
        Poison("SenML pack of 10,001 records", "telemetry", json.dumps(big_pack).encode(),
               "the pack has 10001 readings; at most 10000"),
        Poison("batch with a time of 400 digits", "telemetry",
               b'{"v":1,"gateway":"%s","seq":1,"readings":[{"device":"d","ts":%s,"values":{"voltage":1.0}}]}'
               % (gateway.encode(), b"9" * 400), "readings.0.ts: Input should be less than or equal"),
    ]


def test_poison_messages_are_dead_lettered_and_ingest_never_exits(spine: Spine) -> None:
    ingest = spine.start_ingest()
    [cfg] = spine.fleet(1, 4, 40, interval_s=0.05)
    gateway = spine.start_gateway(cfg)
    rogue = f"{spine.name}-rogue"
    poison = poison_messages(rogue)
    spine.publish_raw(rogue, [p.payload for p in poison if p.kind == "status"], kind="status")
    spine.publish_raw(rogue, [p.payload for p in poison if p.kind == "telemetry"])
    assert gateway.wait(60) == 0, gateway.log_tail()
    spine.wait_until(lambda: len(spine.dead_letters()) >= len(poison) or not ingest.running,
                     timeout_s=30, what=f"{len(poison)} dead letters")  # or the worker's exit
    letters = spine.dead_letters()
    starts = ingest.log_path.read_text(errors="replace").count(SUBSCRIBED)
    alive = ingest.running and starts == 1
    topics = {"status": status_topic(rogue), "telemetry": telemetry_topic(rogue)}
    for p in poison:
        found = [letter for letter in letters if p.reason in letter.reason]
        ok = alive and len(found) == 1 and found[0].topic == topics[p.kind]
        ledger.refused(f"poison message: {p.fault}", ok=ok, verdict=(
            f"dead-lettered ({p.reason}); ingest worker never exited" if ok else
            f"{len(found)} dead letters with {p.reason!r} of {[x.reason[:80] for x in letters]};"
            f" ingest running: {ingest.running}, started {starts} times: {ingest.log_tail()}"))
    assert len(letters) == len(poison), [x.reason[:80] for x in letters]
    ledger.none_lost("good gateway beside the poison messages", tally(spine, [cfg]))
    assert ingest.running, ingest.log_tail()
