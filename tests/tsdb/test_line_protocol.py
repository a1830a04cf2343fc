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
    encode_float_fields,
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


@given(fields=extra.filter(bool), time=st.integers(0, 2**62))
def test_a_shared_field_set_is_what_the_general_line_writes(fields: dict, time: int) -> None:
    """``encode_fields`` (a reading's quality, encoded once for many lines) writes exactly
    the fields ``encode_line`` writes for them."""
    series = series_key("telemetry", {"device": "d-1"})
    assert f"{series} {encode_fields(fields)} {time}" == encode_line(series, fields, time)


plain_keys = st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)


@given(values=st.lists(st.dictionaries(plain_keys, finite, min_size=1, max_size=5), max_size=20))
def test_float_field_sets_are_the_values_exactly(values: list[dict[str, float]]) -> None:
    """Ingest's field sets for many points at once: one per mapping, its keys in order and
    each value's text reading back as that very float (sign of zero included), as ``repr``
    writes it, though not always in the same form (``1e16`` against ``1e+16``)."""
    field_sets = encode_float_fields(values)
    assert len(field_sets) == len(values)
    for field_set, mapping in zip(field_sets, values, strict=True):
        pairs = [pair.split("=") for pair in field_set.split(",")]
        assert [key for key, _ in pairs] == list(mapping)
        assert [repr(float(text)) for _, text in pairs] == [repr(v) for v in mapping.values()]


def test_float_field_sets_refuse_a_key_that_would_shift_values_to_another_point() -> None:
    with pytest.raises(LineProtocolError, match="2 field sets came out as 3"):
        encode_float_fields([{"a},{b": 1.0}, {"c": 2.0}])


def test_the_float_field_sets_of_no_points_are_none() -> None:
    assert encode_float_fields([]) == []
