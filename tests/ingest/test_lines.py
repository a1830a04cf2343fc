"""The test-side line-protocol reader (tests/ingest/lines.py) agrees with ``tsdb``'s encoder
and refuses what InfluxDB would not store as written: the hostile-shapes suite leans on it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iotgw.tsdb import LineProtocolError, Point, encode_point

from tests.ingest.lines import parse_line

names = st.text(min_size=1, max_size=12)
field_values = (st.floats(allow_nan=False, allow_infinity=False) | st.booleans()
                | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12).filter(lambda v: "\n" not in v))


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(measurement=names, tags=st.dictionaries(names, names, max_size=3),
       fields=st.dictionaries(names, field_values, min_size=1, max_size=3),
       time_ms=st.integers(-(9 * 10**12), 9 * 10**12))
def test_what_tsdb_encodes_reads_back(measurement: str, tags: dict[str, str],
                                      fields: dict[str, object], time_ms: int) -> None:
    try:
        line = encode_point(Point(measurement, fields, time_ms, tags))  # type: ignore[arg-type]
    except LineProtocolError:
        return  # no faithful encoding: tsdb refuses it, nothing to read back
    parsed = parse_line(line)
    assert (parsed.measurement, parsed.tags, parsed.fields, parsed.time_ms) == (
        measurement, tags, fields, time_ms)


@pytest.mark.parametrize(("line", "why"), [
    ("m time=1.0 1", "'time'"),
    ("m,time=x v=1.0 1", "'time'"),
    ("m v=inf 1", "finite"),
    ("m v=1e309 1", "finite"),
    ("m v=99999999999999999999i 1", "int64"),
    ("m v=1.0 9223372036855", "int64 nanoseconds"),
    ("m,t= v=1.0 1", "empty tag"),
    ("m =1.0 1", "empty field key"),
    ("m 1", "without '='"),
    ("m v=1.0", "no time"),
    ("m v=1.0 1.5", "not an integer"),
    ("#m v=1.0 1", "comment"),
    ("m v=1.0 1\nm v=2.0 2", "not an integer"),
    ("m v=1.0,v=2.0 1", "twice"),
])
def test_refuses(line: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_line(line)
