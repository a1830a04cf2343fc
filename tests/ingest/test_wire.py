"""The fast path (``ingest.wire``) reads a batch only when the schema (``TelemetryBatch``)
would, and to the same batch; otherwise it steps aside and the schema says what is wrong.

Generated with the hostile-shapes suite's batches (huge integers, 1e309, NaN, odd ids and
keys, duplicate keys), plus the edges where strict msgspec and pydantic could part: an id
with a final newline (Python's ``$`` matches before it, the schema's regex does not),
floats at the ends of their range, integers for floats. Pure: no broker, no database.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from iotgw.devices import TelemetryBatch, telemetry_topic
from iotgw.ingest import decode_message
from iotgw.ingest.points import one_reading
from iotgw.ingest.wire import WireBatch, read_batch
from pydantic import ValidationError

from tests.ingest.test_hostile_shapes import GATEWAY, SETTINGS, telemetry_batches


def _batch(reading: str, envelope: str = "") -> bytes:
    return (f'{{"v":1,"gateway":"{GATEWAY}","seq":1,{envelope}'
            f'"readings":[{reading}]}}').encode()


def _same(fast: WireBatch, model: TelemetryBatch) -> None:
    """Field by field, floats by ``repr`` (``-0.0 == 0.0`` would hide a sign)."""
    readings = [r.model() for r in fast.readings]
    assert repr(fast.model(readings).model_dump()) == repr(model.model_dump())
    for ours, theirs in zip(readings, model.readings, strict=True):
        assert [type(v) for v in ours.values.values()] == [type(v) for v in theirs.values.values()]
        # floats only: ingest writes a plausible reading's values as floats (encode_float_fields)
        assert all(type(v) is float for v in theirs.values.values()), theirs.values
        assert type(ours.ts) is type(theirs.ts) is int


@SETTINGS
@given(telemetry_batches())
@example(_batch('{"device":"soil-1\\n","ts":1,"values":{"voltage":230}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":1e308,"current":5e-324}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":-0.0,"voltage":2}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":1.00000000000000011102230246251565404236316680908203126}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":1e309}}'))
@example(_batch('{"device":"soil-1","ts":1.0,"values":{"voltage":1}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":true,"current":123456789012345678901234567890}}'))
@example(_batch('{"device":"soil-1","ts":1,"values":{"voltage":1}}', '"ack":true,"replay":true,'))
def test_the_fast_path_reads_only_what_the_schema_reads_alike(payload: bytes) -> None:
    fast = read_batch(payload)
    try:
        model = TelemetryBatch.model_validate_json(payload)
    except ValidationError:
        assert fast is None, f"the fast path read what the schema refuses: {payload[:300]!r}"
        return
    if fast is not None:
        _same(fast, model)


def test_a_gateways_batch_takes_the_fast_path_and_decodes_as_before() -> None:
    """What gateways send is read by msgspec (else the fast path would be dead weight), and
    it decodes to the lines the schema's objects give."""
    payload = json.dumps({"v": 1, "gateway": GATEWAY, "seq": 3, "replay": False, "ack": True,
                          "readings": [{"device": "soil-1", "ts": 1_763_800_000_000 + n,
                                        "values": {"soil_moisture": 20.5 + n, "soil_temperature": 27},
                                        "quality": "good"} for n in range(50)]}).encode()
    fast = read_batch(payload)
    assert fast is not None
    decoded = decode_message(telemetry_topic(GATEWAY), payload)
    assert isinstance(decoded.batch, WireBatch) and decoded.batch.ack and decoded.batch.seq == 3
    assert len(decoded.lines) == 50 and not decoded.rejected
    assert decoded.lines[0].endswith(' soil_moisture=20.5,soil_temperature=27.0,quality="good" 1763800000000')


@pytest.mark.parametrize("quality", ["", ',"quality":"bad"'])
def test_a_dead_letter_is_the_same_from_either_path(quality: str) -> None:
    """A reading split off (here: out of range) is the same one-reading batch whichever
    path read its message: dead letters are replayed, so their bytes are the contract."""
    payload = _batch(f'{{"device":"soil-1","ts":1,"values":{{"voltage":1e6}}{quality}}}', '"ack":true,')
    decoded = decode_message(telemetry_topic(GATEWAY), payload)
    assert isinstance(decoded.batch, WireBatch)
    assert [r.kind for r in decoded.rejected] == ["out_of_range"]
    schema = TelemetryBatch.model_validate_json(payload)
    assert decoded.rejected[0].payload == one_reading(schema, schema.readings[0])
