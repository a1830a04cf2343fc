"""SenML decoding, data-driven: RFC 8428's own examples (section 5.1) and ours.
Each folder of senml_cases/ holds payload.json and expected.json
({"now_ms", "readings": [...], "rejected": [reason substrings, in order]})."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from iotgw.devices.senml import SenmlError, decode_senml
from iotgw.devices.telemetry import MAX_READINGS_PER_BATCH

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


@pytest.mark.parametrize("payload", [
    b"{}", b"[]", b"[1, 2]", b"not json", b"\xff",
    b'[{"n":"d:voltage","v":' + b"9" * 5000 + b"}]",  # beyond int()'s 4300 digits
])
def test_what_is_not_a_pack(payload: bytes) -> None:
    with pytest.raises(SenmlError):
        decode_senml(payload, now_ms=1)


def _pack(readings: int) -> bytes:
    """One record per reading: device d, voltage, a second apart (relative times)."""
    return json.dumps([{"bn": "d:voltage", "bu": "V", "v": 1, "t": 0},
                       *({"v": 1, "t": -i} for i in range(1, readings))]).encode()


def test_a_pack_of_as_many_readings_as_a_batch_holds_is_read() -> None:
    decoded = decode_senml(_pack(MAX_READINGS_PER_BATCH), now_ms=1_763_800_000_000)
    assert len(decoded.readings) == MAX_READINGS_PER_BATCH and decoded.rejected == []


def test_a_pack_of_more_readings_than_a_batch_holds_is_refused_whole() -> None:
    with pytest.raises(SenmlError, match=f"the pack has {MAX_READINGS_PER_BATCH + 1} readings"):
        decode_senml(_pack(MAX_READINGS_PER_BATCH + 1), now_ms=1_763_800_000_000)


def test_many_records_of_one_reading_are_one_reading() -> None:
    """The bound is on readings: records of one device at one time make one."""
    pack = [{"bn": "d:", "bt": 1_763_800_000, "n": "voltage", "u": "V", "v": 1}]
    pack += [{"n": "current", "u": "A", "v": i} for i in range(MAX_READINGS_PER_BATCH + 1)]
    decoded = decode_senml(json.dumps(pack).encode(), now_ms=1)
    last = float(MAX_READINGS_PER_BATCH)
    assert [r.values for r in decoded.readings] == [{"voltage": 1.0, "current": last}]
