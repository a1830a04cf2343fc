"""Line-protocol encoding, case by case (pure; the round trip through influxd is in
test_line_protocol_influxd.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iotgw.tsdb import (
    LineProtocolError,
    Point,
    encode_fields,
    encode_float_line,
    encode_line,
    encode_point,
    encode_points,
    series_key,
)

CASES = [
    (Point("m", {"v": 1.5}, 1), "m v=1.5 1"),
    (Point("m", {"n": 3, "b": True, "f": False}, 2), "m n=3i,b=true,f=false 2"),
    (Point("m", {"s": 'say "hi" \\ bye'}, 3), 'm s="say \\"hi\\" \\\\ bye" 3'),
    (Point("m", {"s": "a\nb"}, 4), 'm s="a\nb" 4'),
    (Point("my m,x", {"v": 1.0}, 5), "my\\ m\\,x v=1.0 5"),
    (Point("m=", {"v": 1.0}, 6), "m= v=1.0 6"),  # '=' needs no escape in a measurement
    (Point("m", {"k ,=": 1.0}, 7, {"t ,=": "v ,="}), "m,t\\ \\,\\==v\\ \\,\\= k\\ \\,\\==1.0 7"),
    (Point("m", {"v": 1.0}, 8, {"b": "2", "a": "1"}), "m,a=1,b=2 v=1.0 8"),  # tags sorted
    (Point("m", {"v": 1.0}, 9, {"tỉnh": "Đồng Tháp"}), "m,tỉnh=Đồng\\ Tháp v=1.0 9"),
    (Point("m", {"v": 1.0}, 10, {"t": "a\\b"}), "m,t=a\\b v=1.0 10"),  # backslash literal
    (Point("m", {"v": 0.1 + 0.2}, 11), "m v=0.30000000000000004 11"),  # repr round-trips
    (Point("m", {"v": -(2**63)}, 12), f"m v={-(2**63)}i 12"),
]

REJECTED = [
    (Point("", {"v": 1.0}, 1), "empty measurement"),
    (Point("#m", {"v": 1.0}, 1), "comment"),
    (Point("m", {}, 1), "no fields"),
    (Point("m", {"v": float("nan")}, 1), "not a finite number"),
    (Point("m", {"v": float("inf")}, 1), "not a finite number"),
    (Point("m", {"v": 2**63}, 1), "outside int64"),
    (Point("m", {"v": 1.0}, 1, {"t": ""}), "empty tag 't' value"),
    (Point("m", {"v": 1.0}, 1, {"t": "a\nb"}), "line break"),
    (Point("m\n", {"v": 1.0}, 1), "line break"),
    (Point("m", {"v": 1.0}, 1, {"t": "end\\"}), "backslash"),
    (Point("m", {"v": 1.0}, 1, {"t": "a\\,b"}), "backslash"),
    (Point("m", {"time": 1.0}, 1), "'time' cannot be a field key"),
    (Point("m", {"v": 1.0}, 1, {"time": "x"}), "'time' cannot be a tag key"),
    (Point("m", {"v": b"bytes"}, 1), "unsupported type bytes"),  # type: ignore[dict-item]
]


@pytest.mark.parametrize(("point", "line"), CASES)
def test_encodes(point: Point, line: str) -> None:
    assert encode_point(point) == line


@pytest.mark.parametrize(("point", "message"), REJECTED)
def test_rejects_what_has_no_faithful_encoding(point: Point, message: str) -> None:
    with pytest.raises(LineProtocolError, match=message):
        encode_point(point)


def test_points_are_newline_separated() -> None:
    points = [Point("a", {"v": 1.0}, 1), Point("b", {"v": 2.0}, 2)]
    assert encode_points(points) == "a v=1.0 1\nb v=2.0 2"


finite = st.floats(allow_nan=False, allow_infinity=False)
keys = st.text(alphabet=st.characters(blacklist_characters="\\\n\r"), min_size=1, max_size=12).filter(
    lambda k: k != "time" and not k.startswith("#"))
extra = st.dictionaries(keys, st.one_of(st.booleans(), st.text(max_size=8), finite,
                                        st.integers(-(2**63), 2**63 - 1)), max_size=3)


@given(values=st.dictionaries(keys, finite, min_size=1, max_size=5), more=extra,
       time=st.integers(0, 2**62))
def test_the_float_line_is_the_general_line(values: dict[str, float], more: dict, time: int) -> None:
    """Ingest's fast encoding writes exactly what ``encode_line`` writes for the same point."""
    more = {k: v for k, v in more.items() if k not in values}
    series = series_key("telemetry", {"device": "d-1"})
    fast = encode_float_line(series, values, encode_fields(more), time)
    assert fast == encode_line(series, {**values, **more}, time)


def test_the_float_line_refuses_a_key_without_encoding() -> None:
    with pytest.raises(LineProtocolError, match="backslash"):
        encode_float_line("m", {"bad\\": 1.0}, "", 1)
