"""The dead-letter store: what goes in comes out, and an unusable store is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import DeadLetterStore, DeadLetterUnavailable


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
