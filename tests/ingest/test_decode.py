"""Decoding, data-driven: each folder of cases/ holds topic.txt, payload (.json or .bin) and
expected.json = {"lines": [...], "rejected": [{"reason": substring, "readings": n | null}]}.
Add a case by adding a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iotgw.ingest import decode_message
from iotgw.ingest.decode import SHOWN_CHARS, shown

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if p.is_dir())


def _payload(case: Path) -> bytes:
    for name in ("payload.json", "payload.bin"):
        if (case / name).exists():
            return (case / name).read_bytes()
    raise FileNotFoundError(f"{case}: no payload.json or payload.bin")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    decoded = decode_message((case / "topic.txt").read_text().strip(), _payload(case))
    assert decoded.lines == expected["lines"]
    assert len(decoded.rejected) == len(expected["rejected"])
    for rejected, want in zip(decoded.rejected, expected["rejected"], strict=True):
        assert want["reason"] in rejected.reason
        if want["readings"] is None:
            assert rejected.payload == _payload(case)  # kept as it came
        else:  # split off as a replayable batch of its own
            assert len(json.loads(rejected.payload)["readings"]) == want["readings"]


def test_there_are_cases() -> None:
    assert len(CASES) >= 8


@pytest.mark.parametrize("value, expected", [
    ("tổ,1", "'tổ,1'"),
    ("a\x00\nb", "'a\\x00\\nb'"),
    (10**5000, "<an integer of about 5000 digits>"),
    ({"v": [10**4400]}, "<a dict holding an integer too long to show>"),
    ("x" * 1000, None),
    ([[[[1]]]], "[[[...]]]"),
], ids=["diacritics", "control", "long-int", "nested-long-int", "long-str", "deep"])
def test_a_bad_value_is_shown_escaped_and_short(value: object, expected: str | None) -> None:
    text = shown(value)
    assert len(text) <= SHOWN_CHARS and text.isprintable()
    assert expected is None or text == expected
