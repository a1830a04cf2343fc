"""The dead-letter store: what goes in comes out, and an unusable store is a clear error."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from iotgw.ingest import DeadLetterStore, DeadLetterUnavailable
from iotgw.ingest.config import DeadLetterLimits
from iotgw.ingest.dead_letters import MAX_GATEWAY_LABELS, gateway_label


def test_records_keep_topic_reason_and_exact_payload(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite")
    assert store.add_many([("iot/v1/a/telemetry", "bad", b"\x00\xff"),
                           ("iot/v1/b/telemetry", "worse", b"{}")]) == 2
    store.close()
    reopened = DeadLetterStore(tmp_path / "dl.sqlite")
    letters = reopened.list()
    assert [(x.topic, x.reason, x.payload) for x in letters] == [
        ("iot/v1/a/telemetry", "bad", b"\x00\xff"), ("iot/v1/b/telemetry", "worse", b"{}")]
    assert reopened.count() == 2 and letters[0].received_ms > 0


def test_a_path_that_is_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "dl.sqlite").mkdir()
    with pytest.raises(DeadLetterUnavailable, match="cannot open dead-letter store"):
        DeadLetterStore(tmp_path / "dl.sqlite")


def _limits(**kw: object) -> DeadLetterLimits:
    return DeadLetterLimits(**{"max_rows": 1_000, "max_bytes": 10_000, "max_payload_bytes": 1_000, **kw})


def test_a_payload_over_the_limit_is_kept_cut_with_its_size_and_hash(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite", _limits())
    big = b"x" * 5_000
    store.add_many([("iot/v1/gw-a/telemetry", "invalid telemetry", big)])
    [letter] = store.list()
    assert letter.payload == big[:1_000] and letter.size == 5_000 and letter.cut
    assert letter.reason == ("invalid telemetry (payload cut to 1000 of 5000 bytes, sha256 "
                             f"{hashlib.sha256(big).hexdigest()})")
    assert store.totals() == (1, 1_000)


def test_when_full_the_oldest_go_and_are_counted(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite", _limits(max_rows=3))
    for n in range(5):
        store.add_many([(f"iot/v1/gw-{n}/telemetry", f"r{n}", b"{}")])
    assert [x.reason for x in store.list()] == ["r2", "r3", "r4"]
    assert store.evicted == 2 and store.discarded == 0 and store.totals() == (3, 6)
    by_bytes = DeadLetterStore(tmp_path / "bytes.sqlite", _limits(max_bytes=2_500))
    for n in range(4):
        by_bytes.add_many([("iot/v1/gw-a/telemetry", f"r{n}", b"y" * 1_000)])
    assert [x.reason for x in by_bytes.list()] == ["r2", "r3"] and by_bytes.evicted == 2
    assert by_bytes.totals() == (2, 2_000)


def test_when_full_new_ones_can_be_refused_instead_and_are_counted(tmp_path: Path) -> None:
    store = DeadLetterStore(tmp_path / "dl.sqlite", _limits(max_rows=3, when_full="drop_new"))
    stored = store.add_many([(f"iot/v1/gw-{n}/telemetry", f"r{n}", b"{}") for n in range(5)])
    assert stored == 3 and store.discarded == 2 and store.evicted == 0
    assert [x.reason for x in store.list()] == ["r0", "r1", "r2"]
    store.delete([store.list()[0].id])
    assert store.add_many([("iot/v1/gw-9/telemetry", "r9", b"{}")]) == 1 and store.totals() == (3, 6)


def test_counts_per_gateway_and_totals_shared_by_workers_of_one_file(tmp_path: Path) -> None:
    one = DeadLetterStore(tmp_path / "dl.sqlite", _limits(max_rows=4))
    two = DeadLetterStore(tmp_path / "dl.sqlite", _limits(max_rows=4))
    one.add_many([("iot/v1/flood/telemetry", "bad", b"{}")] * 3)
    two.add_many([("iot/v1/quiet/status", "bad", b"{}"), ("not/a/topic", "bad", b"{}")])
    assert one.totals() == two.totals() == (4, 8)
    assert two.evicted == 1
    assert one.per_gateway() == {"flood": 2, "": 1, "quiet": 1}


def test_a_store_of_the_earlier_format_is_migrated_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "dl.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE dead_letters (id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER"
                   " NOT NULL, topic TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB NOT NULL)")
        db.execute("INSERT INTO dead_letters (received_ms, topic, reason, payload)"
                   " VALUES (1, 'iot/v1/a/telemetry', 'old', x'00ff')")
    store = DeadLetterStore(path, _limits())
    assert store.totals() == (1, 2)
    [old] = store.list()
    assert (old.reason, old.payload, old.gateway, old.cut) == ("old", b"\x00\xff", "", False)
    store.add_many([("iot/v1/b/telemetry", "new", b"{}")])
    assert store.per_gateway() == {"": 1, "b": 1}


def test_gateway_labels_are_bounded() -> None:
    seen = {f"gw-{n}": 1 for n in range(MAX_GATEWAY_LABELS)}
    assert gateway_label("iot/v1/gw-1/telemetry", seen) == "gw-1"
    assert gateway_label("iot/v1/new-one/telemetry", seen) == "(other)"
    assert gateway_label("junk", {}) == "(none)"
