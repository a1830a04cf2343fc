"""Valid-shaped hostile messages of every kind ingest reads, generated: decoding returns,
and every message is accounted for.

Each message has the shape of a telemetry v1 batch, a SenML pack or a status message,
with hostile leaves: numbers at the ends of float (1e308, 5e-324, -0.0, 1e309), integers
of 400 and 5000 digits, times at and beyond what InfluxDB can store, negative times, odd
keys ("time", "", "a\\nb", "a,b", 1000 characters, ...), odd device ids ("x:", "a/b",
"#", "+", "%") and duplicate JSON keys (written as raw JSON text); besides the generated
ones, the issue's poison payloads and a batch and a pack of 10,001 readings always run
(generating hundreds of those would take minutes). For each message, by each policy for
implausible readings (dead letter, flag):

- ``decode_message`` returns (it raises for nothing);
- it stores lines or rejects with at least one ``Rejected`` of non-empty kind and reason;
- every line reads back as line protocol InfluxDB stores as written (``tests.ingest.lines``);
- each reading the schema accepts is either in exactly one line or in exactly one
  split-off dead letter, never both, and a message rejected whole stores nothing;
- a message is rejected whole, as it came, exactly when its envelope (``v``, ``gateway``,
  ``seq``, ``replay``, 1 to 10,000 readings) is invalid, it names another gateway, or none
  of its readings is valid; otherwise each invalid reading is in exactly one dead letter of
  its own (a one-reading batch of the same envelope, kind ``invalid``), and whether a
  reading is valid does not depend on its neighbours (read alone from its JSON, it is
  judged the same).

``make test`` runs ``EXAMPLES`` per kind (a few seconds); ``make faults`` (marker
``faults``, ``IOTGW_FAULTS=long``) many more. Pure: no broker, no database.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from iotgw.devices import QUANTITIES, GatewayStatus, SenmlError, TelemetryBatch, decode_senml
from iotgw.devices.senml import ALIASES, MAX_TIME_S
from iotgw.devices.telemetry import MAX_READINGS_PER_BATCH, MAX_TS_MS, Reading
from iotgw.ingest import decode_message
from iotgw.ingest.config import PolicyConfig
from iotgw.ingest.points import Context, Decoded
from iotgw.tsdb.schema import GATEWAY_HEALTH, TELEMETRY, TELEMETRY_BAD
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from tests.faults.ledger import LONG
from tests.ingest.lines import Line, parse_line

pytestmark = pytest.mark.faults

EXAMPLES = 5_000 if LONG else 300
GATEWAY = "hs-gw"
TELEMETRY_TOPIC = f"iot/v1/{GATEWAY}/telemetry"
STATUS_TOPIC = f"iot/v1/{GATEWAY}/status"
NOW_MS = 1_790_000_000_000
NOW_S = NOW_MS // 1000
BIG = MAX_READINGS_PER_BATCH + 1

SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- JSON text with what json.dumps cannot write: huge integers, 1e309, duplicate keys ---

class Raw(str):
    """JSON text written as it is (a number Python cannot dump, or would dump otherwise)."""


@dataclass(frozen=True)
class Obj:
    """A JSON object as its pairs, in order; a key may occur twice."""

    pairs: tuple[tuple[str, object], ...]


def dump(value: object) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Obj):
        return "{" + ",".join(f"{json.dumps(k)}:{dump(v)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return dump(Obj(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(dump(v) for v in value) + "]"
    return json.dumps(value)


@st.composite
def obj(draw: st.DrawFn, pairs: dict[str, object], dup_values: st.SearchStrategy[object]) -> Obj:
    """``pairs`` as an object, sometimes with one key written a second time."""
    items = list(pairs.items())
    if items and draw(st.integers(0, 5)) == 5:
        key = draw(st.sampled_from([k for k, _ in items]))
        items.insert(draw(st.integers(0, len(items))), (key, draw(dup_values)))
    return Obj(tuple(items))


# --- hostile leaves: each leaf is good most of the time, so that whole messages get through ---

def leaf(good: st.SearchStrategy[object], hostile: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    """``hostile`` about one time in six, else ``good``."""
    return st.integers(0, 5).flatmap(lambda n: hostile if n == 5 else good)


HUGE_INTS = [Raw("9" * 400), Raw("-" + "9" * 400), Raw("1" + "0" * 5000)]
ODD_FLOATS = [1e308, -1e308, -0.0, 5e-324, -5e-324, Raw("1e309"), Raw("-1e309"), Raw("NaN"),
              Raw("Infinity"), Raw("-Infinity")]
ODD_KEYS = ["time", "", "a\nb", "a b", "a,b", "a=b", "\\", "a\\", "a\\,b", "\"", "#x", "ụ", "😀",
            "x" * 1000, "online", "quality", "Voltage", "a\x00b", "uptime_s\n"]
ODD_IDS = ["x:", "a/b", "#", "+", "%", "", "a\n", "a b", "d,x=1", "ụ", "-d", "d" * 65, "x" * 1000,
           "d-1", "soil.2", "m_3", "x" * 64]

plain_numbers = st.floats(min_value=0, max_value=100) | st.integers(0, 100)
odd_values = st.none() | st.booleans() | st.text(max_size=5) | st.just([1.0]) | st.just({"v": 1})
numbers = leaf(plain_numbers, st.sampled_from(HUGE_INTS + ODD_FLOATS)
               | st.floats(allow_nan=False, allow_infinity=False) | st.integers() | odd_values)
quantity_names = st.sampled_from(sorted(QUANTITIES))
keys = st.sampled_from(ODD_KEYS) | st.text(max_size=12)
device_ids = leaf(st.sampled_from(["soil-1", "meter-2", "aq.3"]),
                  st.sampled_from(ODD_IDS) | st.text(max_size=10))
times_ms = leaf(st.integers(NOW_MS - 10**10, NOW_MS),
                st.sampled_from([NOW_MS + 10**9, 1, 0, -1, MAX_TS_MS, MAX_TS_MS + 1, 2**63, -(2**63),
                                 1e308, -1e308, 1.5, -0.0, "now", *HUGE_INTS]) | st.integers())
times_s = leaf(st.floats(-1e6, 0) | st.integers(NOW_S - 10**6, NOW_S),
               st.sampled_from([0, 2**28 - 1, 2**28, MAX_TIME_S, MAX_TIME_S + 1, -MAX_TIME_S,
                                -MAX_TIME_S - 1, 1e308, -1e308, 5e-324, -0.0, *HUGE_INTS, Raw("1e309")])
               | st.floats(allow_nan=False))


# --- messages ---

@st.composite
def readings(draw: st.DrawFn) -> Obj:
    values = draw(st.dictionaries(leaf(quantity_names, keys), numbers, min_size=1, max_size=4))
    pairs: dict[str, object] = {
        "device": draw(device_ids),
        "ts": draw(times_ms),
        "values": draw(obj(values, numbers)),
    }
    if draw(st.booleans()):
        pairs["quality"] = draw(leaf(st.sampled_from(["good", "uncertain", "bad"]),
                                     st.sampled_from(["great", ""])))
    return draw(obj(pairs, device_ids | times_ms))


@st.composite
def telemetry_batches(draw: st.DrawFn) -> bytes:
    items = draw(st.lists(readings(), min_size=1, max_size=5))
    pairs = {
        "v": draw(leaf(st.just(1), st.sampled_from([2, "1", Raw("9" * 400)]))),
        "gateway": draw(leaf(st.just(GATEWAY), st.just("other-gw") | device_ids)),
        "seq": draw(leaf(st.integers(0, 2**63), st.sampled_from([-1, *HUGE_INTS, 1.5, Raw("1e309")]))),
        "replay": draw(leaf(st.booleans(), odd_values)),
        "readings": items,
    }
    return dump(draw(obj(pairs, st.sampled_from([GATEWAY, "other-gw", 1, []])))).encode()


@st.composite
def status_messages(draw: st.DrawFn) -> bytes:
    health_keys = leaf(st.sampled_from(["uptime_s", "buffer_depth", "read", "a1_b"]), keys)
    health = draw(leaf(st.dictionaries(health_keys, numbers, max_size=5),
                       st.just({f"k{i}": 1.0 for i in range(65)})))
    pairs: dict[str, object] = {
        "v": draw(leaf(st.just(1), st.just(2))),
        "state": draw(leaf(st.sampled_from(["online", "offline"]), st.sampled_from(["", "sleeping"]))),
        "health": draw(obj(health, numbers)),
    }
    if draw(st.booleans()):
        pairs["ts"] = draw(times_ms)
    return dump(draw(obj(pairs, st.sampled_from(["online", "offline", 1])))).encode()


units = leaf(st.sampled_from(sorted({q.unit for q in QUANTITIES.values()})),
             st.sampled_from(["mV", "", "furlong"]) | odd_values)


@st.composite
def senml_records(draw: st.DrawFn) -> Obj:
    record = draw(st.fixed_dictionaries(
        {"n": leaf(quantity_names | st.sampled_from(sorted(ALIASES)), keys)},
        optional={
            "bn": st.builds(lambda d, sep: d + sep, device_ids, st.sampled_from([":", "/", ""])),
            "bt": times_s, "t": times_s, "u": units, "bu": units, "v": numbers, "s": numbers,
            "bv": numbers, "bs": numbers, "bver": st.sampled_from([10, 11, "x", *HUGE_INTS]),
            "vs": st.text(max_size=5),
        }))
    if "v" not in record and "s" not in record and draw(st.booleans()):
        record["v"] = draw(plain_numbers)
    return draw(obj(record, numbers | times_s | keys))


@st.composite
def senml_packs(draw: st.DrawFn) -> bytes:
    return dump(draw(st.lists(senml_records(), min_size=1, max_size=5))).encode()


POLICIES = [PolicyConfig(), PolicyConfig(implausible="flag")]
policies = st.sampled_from(POLICIES)


# --- the checks ---

def _decoded(topic: str, payload: bytes, policy: PolicyConfig) -> tuple[Decoded, list[Line]]:
    decoded = decode_message(topic, payload, Context(now_ms=NOW_MS, policy=policy))
    assert decoded.lines or decoded.rejected, f"neither stored nor rejected: {payload[:300]!r}"
    for rejected in decoded.rejected:
        assert rejected.kind.strip() and rejected.reason.strip(), rejected
    return decoded, [parse_line(line) for line in decoded.lines]


def _rejected_whole(decoded: Decoded, payload: bytes) -> None:
    assert decoded.lines == [], "a message rejected whole stored lines"
    assert [r.payload for r in decoded.rejected] == [payload]


ReadingKey = tuple[str, int, tuple[tuple[str, float], ...]]


def _key(reading: Reading) -> ReadingKey:
    return reading.device, reading.ts, tuple(sorted(reading.values.items()))


def _line_key(line: Line) -> ReadingKey:
    assert line.measurement in (TELEMETRY, TELEMETRY_BAD), line
    assert line.tags["gateway"] == GATEWAY, line  # the topic's gateway, always
    values = {k: v for k, v in line.fields.items() if k not in ("quality", "unregistered")}
    assert all(isinstance(v, float) for v in values.values()), line
    return line.tags["device"], line.time_ms, tuple(sorted(values.items()))  # type: ignore[arg-type]


def _account(expected: list[Reading], lines: list[Line], split_off: list[bytes]) -> None:
    """Each reading the schema accepted is in one line or one split-off dead letter."""
    stored = Counter(_line_key(line) for line in lines)
    kept_aside: Counter[ReadingKey] = Counter()
    for payload in split_off:  # a replayable one-reading batch of the topic's gateway
        batch = TelemetryBatch.model_validate_json(payload)
        assert batch.gateway == GATEWAY and len(batch.readings) == 1
        kept_aside[_key(batch.readings[0])] += 1
    assert stored + kept_aside == Counter(_key(r) for r in expected)


class Envelope(BaseModel):
    """The test's own model of a batch's envelope: ``TelemetryBatch``'s fields, readings unread."""

    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1
    gateway: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    seq: Annotated[int, Field(ge=0)]
    replay: bool = False
    readings: Annotated[list[Any], Field(min_length=1, max_length=MAX_READINGS_PER_BATCH)]


def _valid(raw: Any) -> Reading | None:
    """The reading, if valid; the same judged from its own JSON text (as a whole batch's
    validation judges it) and from the parsed value (as a batch split by reading is)."""
    try:
        reading = Reading.model_validate(raw)
    except ValidationError:
        reading = None
    try:
        Reading.model_validate_json(to_json(raw, inf_nan_mode="constants"))
        from_text = True
    except ValidationError:
        from_text = False
    assert from_text == (reading is not None), f"judged differently alone: {raw!r:.300}"
    return reading


def _check_telemetry(payload: bytes, policy: PolicyConfig, seen: Counter[str]) -> None:
    decoded, lines = _decoded(TELEMETRY_TOPIC, payload, policy)
    try:
        envelope = Envelope.model_validate_json(payload)
    except ValidationError:
        with pytest.raises(ValidationError):
            TelemetryBatch.model_validate_json(payload)
        _rejected_whole(decoded, payload)
        seen["rejected whole"] += 1
        return
    if envelope.gateway != GATEWAY:
        _rejected_whole(decoded, payload)
        seen["other gateway"] += 1
        return
    judged = [(raw, _valid(raw)) for raw in envelope.readings]
    valid = [reading for _, reading in judged if reading is not None]
    invalid = [raw for raw, reading in judged if reading is None]
    if not valid:
        _rejected_whole(decoded, payload)
        seen["no valid reading"] += 1
        return
    letters = [r for r in decoded.rejected if r.kind == "invalid"]
    kept: Counter[bytes] = Counter()
    for letter in letters:  # a one-reading batch of the message's envelope, the reading as read
        alone = Envelope.model_validate_json(letter.payload)
        assert alone.model_dump(exclude={"readings"}) == envelope.model_dump(exclude={"readings"})
        assert len(alone.readings) == 1 and letter.reason.startswith("invalid telemetry: readings."), letter
        kept[to_json(alone.readings[0], inf_nan_mode="constants")] += 1
    assert kept == Counter(to_json(raw, inf_nan_mode="constants") for raw in invalid)
    _account(valid, lines, [r.payload for r in decoded.rejected if r.kind != "invalid"])
    seen["stored"] += bool(lines)
    seen["split off"] += len(decoded.rejected) > len(letters)
    seen["invalid split off"] += bool(letters)


def _check_senml(payload: bytes, policy: PolicyConfig, seen: Counter[str]) -> None:
    decoded, lines = _decoded(TELEMETRY_TOPIC, payload, policy)
    try:
        senml = decode_senml(payload, now_ms=NOW_MS)
    except SenmlError as exc:
        _rejected_whole(decoded, payload)
        seen["too many readings" if "readings" in str(exc) else "not a pack"] += 1
        return
    whole = [r for r in decoded.rejected if r.kind == "senml_records"]
    assert len(whole) == bool(senml.rejected) and all(r.payload == payload for r in whole)
    _account(senml.readings, lines, [r.payload for r in decoded.rejected if r.kind != "senml_records"])
    seen["stored"] += bool(lines)
    seen["records rejected"] += bool(whole)
    seen["time refused"] += any("outside what can be stored" in reason for reason, _ in senml.rejected)


def _check_status(payload: bytes, policy: PolicyConfig, seen: Counter[str]) -> None:
    decoded, lines = _decoded(STATUS_TOPIC, payload, policy)
    try:
        status = GatewayStatus.model_validate_json(payload)
    except ValidationError as exc:
        _rejected_whole(decoded, payload)
        seen["health key refused" if "health key" in str(exc) else "rejected whole"] += 1
        return
    assert decoded.rejected == [] and len(lines) == 1
    [line] = lines
    assert (line.measurement, line.tags) == (GATEWAY_HEALTH, {"gateway": GATEWAY})
    assert line.fields == {**status.health, "online": status.state == "online"}
    assert line.time_ms == (status.ts or NOW_MS)
    seen["stored"] += 1


# Always run, by each policy, besides the generated messages: the poison payloads
# and their kin (a batch time of 400 digits, a status time after 2262).
def _batch(ts: bytes, value: bytes) -> bytes:
    return (b'{"v":1,"gateway":"%s","seq":1,"readings":[{"device":"d","ts":%s,"values":{"voltage":%s}}]}'
            % (GATEWAY.encode(), ts, value))


def _status(health_key: bytes, ts: bytes = b"1790000000000") -> bytes:
    return b'{"v":1,"state":"online","ts":%s,"health":{"%s":1}}' % (ts, health_key)


BIG_BATCH = json.dumps({"v": 1, "gateway": GATEWAY, "seq": 1, "readings": [
    {"device": "d", "ts": NOW_MS - i, "values": {"voltage": 230.0}} for i in range(BIG)]}).encode()
BIG_PACK = json.dumps([{"bn": "d:", "bt": NOW_S - BIG, "n": "voltage", "u": "V", "v": 230, "t": i}
                       for i in range(BIG)]).encode()
BATCH_POISON = [BIG_BATCH, _batch(b"1790000000000", b"9" * 400), _batch(b"9" * 400, b"230"),
                _batch(b"10000000000000000", b"230")]
STATUS_POISON = [_status(b"time"), _status(b""), _status(b"a\\nb"), _status(b"uptime_s", b"9" * 30)]
SENML_POISON = [b'[{"bn":"d:","n":"voltage","u":"V","v":230,"t":1e308}]',
                b'[{"bn":"d:","n":"voltage","u":"V","v":' + b"9" * 400 + b"}]", BIG_PACK]


def _run(strategy: st.SearchStrategy[bytes], check: Callable[[bytes, PolicyConfig, Counter[str]], None],
         examples: list[bytes]) -> Counter[str]:
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(payload=strategy, policy=policies)
    def property_holds(payload: bytes, policy: PolicyConfig) -> None:
        check(payload, policy, seen)

    for payload in examples:  # the poison payloads (and their kin), always, by each policy
        for policy in POLICIES:
            property_holds = example(payload=payload, policy=policy)(property_holds)
    property_holds()
    return seen


def test_telemetry_batches_decode_and_every_reading_is_accounted_for() -> None:
    seen = _run(telemetry_batches(), _check_telemetry, BATCH_POISON)
    assert all(seen[k] for k in ("stored", "split off", "invalid split off", "no valid reading",
                                 "rejected whole")), seen


def test_senml_packs_decode_and_every_reading_is_accounted_for() -> None:
    seen = _run(senml_packs(), _check_senml, SENML_POISON)
    assert all(seen[k] for k in ("stored", "records rejected", "time refused", "too many readings")), seen


def test_status_messages_decode_to_one_valid_point_or_a_reason() -> None:
    seen = _run(status_messages(), _check_status, STATUS_POISON)
    assert all(seen[k] for k in ("stored", "health key refused", "rejected whole")), seen

