"""Decoding, data-driven: each folder of cases/ holds topic.txt, payload (.json or .bin) and
expected.json = {"lines": [...], "rejected": [{"reason": substring, "readings": n | null}]}.
Add a case by adding a folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import decode_message

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
