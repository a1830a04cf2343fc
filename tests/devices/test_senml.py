"""SenML decoding, data-driven: RFC 8428's own examples (section 5.1) and ours.
Each folder of senml_cases/ holds payload.json and expected.json
({"now_ms", "readings": [...], "rejected": [reason substrings, in order]})."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devices.senml import SenmlError, decode_senml

CASES = sorted(p for p in (Path(__file__).parent / "senml_cases").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text())
    decoded = decode_senml((case / "payload.json").read_bytes(), now_ms=expected["now_ms"])
    got = [r.model_dump(mode="json", exclude={"quality"}) for r in decoded.readings]
    assert got == expected["readings"]
    assert len(decoded.rejected) == len(expected["rejected"])
    for (reason, _record), want in zip(decoded.rejected, expected["rejected"], strict=True):
        assert want in reason


def test_rfc_examples_are_covered() -> None:
    assert sum(c.name.startswith("rfc8428_") for c in CASES) == 6


@pytest.mark.parametrize("payload", [b"{}", b"[]", b"[1, 2]", b"not json", b"\xff"])
def test_what_is_not_a_pack(payload: bytes) -> None:
    with pytest.raises(SenmlError):
        decode_senml(payload, now_ms=1)
