"""Batches that are partly bad, through the real broker, a real ingest worker and influxd
(issue 26): what is good of them is stored, only what is bad is dead-lettered, one reading
per letter, and nothing is both.

- a batch with one invalid reading (a device id with a comma and diacritics) among valid
  ones: the valid readings are stored, the invalid one is dead-lettered alone with its
  value quoted;
- a partial write: a field once written as a string in the current shard of the ``raw``
  retention policy (by another writer) makes InfluxDB drop every float of that field in
  that shard and store the rest of each write; ingest dead-letters only the dropped
  readings, counts as written exactly what InfluxDB stored, and logs what to do.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time

import httpx
import pytest
from iotgw.tsdb.schema import GATEWAY_HEALTH, TELEMETRY

from iotgw.processes import free_port
from tests.e2e.spine import Spine
from tests.faults import ledger

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def _written_points(port: int) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    found = re.search(r"^iotgw_ingest_written_points_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else -1.0


def _health_points(spine: Spine) -> int:
    series = spine.influx.query(spine.database, f'SELECT count("online") FROM "{GATEWAY_HEALTH}"')
    return int(series[0].rows[0]["count"]) if series else 0


def _stored(spine: Spine) -> set[tuple[str, int]]:
    """(device, time) of every reading ingest stored (its points have a quality)."""
    return {(s.tags["device"], row["time"]) for s in spine.influx.query(
        spine.database, f'SELECT "quality" FROM "{TELEMETRY}" GROUP BY "device"') for row in s.rows}


def _dead_lettered(spine: Spine) -> list[tuple[str, int]]:
    """(device, time) of the reading of each dead letter, each a one-reading batch."""
    out = []
    for letter in spine.dead_letters():
        readings = json.loads(letter.payload)["readings"]
        assert len(readings) == 1, letter
        out.append((readings[0]["device"], readings[0]["ts"]))
    return out


def test_a_batch_with_one_invalid_reading_stores_the_others(spine: Spine) -> None:
    spine.start_ingest()
    gw = f"{spine.name}-gw"
    now_ms = int(time.time() * 1000)
    readings = [{"device": device, "ts": now_ms, "values": {"voltage": 230.0 + n}}
                for n, device in enumerate(["m-1", "tổ,1", "m-2"])]
    spine.publish_raw(gw, [json.dumps({"v": 1, "gateway": gw, "seq": 1, "readings": readings},
                                      ensure_ascii=False).encode()])
    spine.wait_until(lambda: len(_stored(spine)) == 2 and len(spine.dead_letters()) == 1,
                     timeout_s=30, what="two points stored and one dead letter")
    time.sleep(1.0)  # anything more would show up now
    stored, [letter] = _stored(spine), spine.dead_letters()
    assert stored == {("m-1", now_ms), ("m-2", now_ms)}
    assert "readings.1.device" in letter.reason and "'tổ,1'" in letter.reason, letter.reason
    assert json.loads(letter.payload) == {"v": 1, "gateway": gw, "seq": 1, "replay": False,
                                          "readings": [readings[1]]}
    ledger.policy("batch with one invalid reading (device id 'tổ,1')", sent=3, stored=len(stored),
                  counted=len(spine.dead_letters()), what="the invalid reading dead-lettered alone")


def test_a_partial_write_dead_letters_only_the_dropped_readings(spine: Spine) -> None:
    port = free_port()
    worker = spine.start_ingest(metrics_port=port)
    spine.wait_until(lambda: any(row["name"] == "raw" for s in spine.influx.query(
        spine.database, f'SHOW RETENTION POLICIES ON "{spine.database}"') for row in s.rows),
        timeout_s=30, what="the raw retention policy")
    gw = f"{spine.name}-gw"
    now_ms = int(time.time() * 1000)
    start_ms = now_ms + 1  # the readings follow the conflicting point, in its shard (see below)
    spine.influx.write_lines(spine.database, f'telemetry,device=X,gateway={gw} voltage="n/a" {now_ms}',
                             retention_policy="raw")
    batches, conflicting = [], set()
    for seq in range(12):
        readings = []
        for n in range(10):
            ts = start_ms + seq * 1000 + n
            if n in (0, 5):  # the string field's device, and another that writes the same field
                device, values = ("X", {"voltage": 230.5}) if n == 0 else ("m-1", {"voltage": 229.5,
                                                                                   "current": 1.5})
                conflicting.add((device, ts))
            else:
                device, values = f"soil-{n}", {"soil_moisture": 30.0 + n}
            readings.append({"device": device, "ts": ts, "values": values})
        batches.append(json.dumps({"v": 1, "gateway": gw, "seq": seq, "readings": readings}).encode())
    [shard] = [row for s in spine.influx.query(spine.database, "SHOW SHARDS") for row in s.rows
               if row["database"] == spine.database and row["retention_policy"] == "raw"]
    shard_end_ms = dt.datetime.fromisoformat(shard["end_time"].replace("Z", "+00:00")).timestamp() * 1000
    assert start_ms + 12 * 1000 < shard_end_ms, "a shard group ends within the readings: run again"
    spine.publish_raw(gw, batches)
    sent = sum(len(json.loads(b)["readings"]) for b in batches)
    spine.wait_until(lambda: len(_stored(spine)) == sent - len(conflicting)
                     and len(spine.dead_letters()) >= len(conflicting),
                     timeout_s=60, what="the stored readings and the dead letters")
    time.sleep(1.0)  # anything more would show up now
    stored, dead = _stored(spine), _dead_lettered(spine)
    assert set(dead) == conflicting and len(dead) == len(conflicting), sorted(dead)
    assert stored & set(dead) == set(), "stored and dead-lettered"
    assert len(stored) + len(dead) == sent
    # The broker hands a new subscription every gateway's retained status (earlier tests'
    # gateways on this session's broker): ingest writes those as gateway_health points too.
    spine.wait_until(lambda: _written_points(port) == len(stored) + _health_points(spine), timeout_s=10,
                     what=f"iotgw_ingest_written_points_total == {len(stored)} readings + the health points")
    reasons = {letter.reason for letter in spine.dead_letters()}
    assert all("field type conflict" in r and "7 days" in r and "replay" in r for r in reasons), reasons
    log = worker.log_path.read_text(errors="replace")
    assert "field type conflict in InfluxDB: field 'voltage' of measurement 'telemetry'" in log
    ledger.policy("partial write: field type conflict in the shard", sent=sent, stored=len(stored),
                  counted=len(dead), what="the dropped readings dead-lettered, the rest stored")
