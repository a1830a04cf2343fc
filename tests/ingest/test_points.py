"""Readings to points: plausibility, policies and enrichment, on pure inputs."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

from iotgw.devices import QUANTITIES, Reading, TelemetryBatch
from iotgw.ingest.config import PolicyConfig
from iotgw.ingest.points import Context, Decoded, add_readings
from iotgw.registry import DeviceHistory, DeviceTags
from iotgw.registry.tag_cache import Span
from iotgw.tsdb import Point, encode_point

NOW = 1_763_800_000_000
TAGS = DeviceTags(device="soil-1", gateway="gw-1", profile="soil_probe", sector="agriculture",
                  province="87", commune="30010", organisation="coop-1",
                  organisation_type="agricultural_cooperative", installed_ms=NOW - 86_400_000)
PLACED = {"soil-1": DeviceHistory((Span(TAGS.installed_ms, None, TAGS),))}


def _run(readings: list[Reading], **ctx) -> Decoded:
    out = Decoded()
    add_readings(out, TelemetryBatch(gateway="gw-1", seq=1, readings=readings), Context(NOW, **ctx))
    return out


def _reading(ts: int = NOW, **values: float) -> Reading:
    return Reading(device="soil-1", ts=ts, values=values or {"soil_moisture": 30.0})


def test_registered_devices_get_the_registry_tags() -> None:
    out = _run([_reading()], lookup=PLACED.get)
    assert out.lines == ["telemetry,commune=30010,device=soil-1,gateway=gw-1,organisation=coop-1,"
                         "organisation_type=agricultural_cooperative,profile=soil_probe,province=87,"
                         f'sector=agriculture soil_moisture=30.0,quality="good" {NOW}']
    assert not out.rejected and not out.counts


def test_unregistered_devices_are_dead_lettered_or_accepted_and_flagged() -> None:
    dead = _run([_reading()], lookup={}.get)
    assert dead.lines == [] and dead.counts == {"unregistered": 1}
    assert "not in the registry" in dead.rejected[0].reason
    accepted = _run([_reading()], lookup={}.get, policy=PolicyConfig(unregistered="accept"))
    assert accepted.lines == [f'telemetry,device=soil-1,gateway=gw-1 soil_moisture=30.0,quality="good",'
                              f"unregistered=true {NOW}"]
    assert accepted.counts == {"unregistered_accepted": 1}


def test_implausible_readings_by_policy() -> None:
    cases = {
        "out_of_range": _reading(soil_moisture=130.0),
        "future": _reading(ts=NOW + 301_000),
        "before_install": _reading(ts=NOW - 2 * 86_400_000),
    }
    for key, reading in cases.items():
        dead = _run([reading, _reading(ts=NOW - 1)], lookup=PLACED.get)
        assert dead.counts == {key: 1} and len(dead.lines) == 1, key
        assert json.loads(dead.rejected[0].payload)["readings"][0]["ts"] == reading.ts
        flagged = _run([reading], lookup=PLACED.get,
                       policy=PolicyConfig(implausible="flag"))
        assert flagged.counts == {key: 1, "flagged": 1} and not flagged.rejected, key
        assert flagged.lines[0].startswith("telemetry_bad,") and 'quality="bad"' in flagged.lines[0]


def test_the_future_tolerance_is_configurable() -> None:
    ahead = _reading(ts=NOW + 60_000)
    assert _run([ahead]).lines
    assert _run([ahead], policy=PolicyConfig(future_tolerance_s=30)).counts == {"future": 1}


def test_reading_lines_equal_the_general_encoder_for_every_quantity() -> None:
    """A plausible reading's values are written unescaped, all of a batch at once
    (``tsdb.encode_float_fields``): true only while every name in the catalogue is a plain
    line-protocol name. The general encoder, which escapes, writes the same lines, at
    either end of every range."""
    ends = [{name: float(getattr(q, end)) for name, q in QUANTITIES.items()}
            for end in ("minimum", "maximum")]
    out = _run([Reading(device="soil-1", ts=NOW + i, values=values, quality="uncertain")
                for i, values in enumerate(ends)])
    assert out.counts == {}
    assert out.lines == [encode_point(Point("telemetry", {**values, "quality": "uncertain"}, NOW + i,
                                            {"gateway": "gw-1", "device": "soil-1"}))
                         for i, values in enumerate(ends)]


def test_a_gateway_speaks_only_for_the_devices_placed_on_it_at_the_readings_time() -> None:
    """Gateway gw-1 had soil-1 until MOVED, when it went to gw-2 in another commune: gw-1's
    readings from before the move are its own, later ones are not, and gw-2's are the
    reverse; a foreign reading never gets the placed gateway's tags."""
    moved = NOW - 3_600_000
    there = replace(TAGS, gateway="gw-2", commune="30013")
    history = {"soil-1": DeviceHistory((Span(TAGS.installed_ms, moved, TAGS), Span(moved, None, there)))}
    before, after = _reading(ts=moved - 1), _reading(ts=moved)
    out = _run([before, after], lookup=history.get)
    assert [line.split(",commune=")[1][:5] for line in out.lines] == ["30010"]
    assert out.counts == {"foreign_device": 1}
    [rejected] = out.rejected
    assert rejected.kind == "foreign_device"
    assert rejected.reason == (f"device soil-1 is not on gateway gw-1 at "
                               f"{_iso(moved)} (on gw-2)")
    assert json.loads(rejected.payload)["readings"][0]["ts"] == moved

    flagged = _run([after], lookup=history.get, policy=PolicyConfig(foreign_device="flag"))
    assert flagged.lines == [f'telemetry_bad,device=soil-1,gateway=gw-1 soil_moisture=30.0,'
                             f'quality="bad",foreign=true {moved}']
    assert flagged.counts == {"foreign_device": 1, "flagged": 1} and not flagged.rejected


def test_a_device_on_no_gateway_speaks_only_for_itself() -> None:
    """A node that publishes to the broker itself is a gateway of one device."""
    node = {device: DeviceHistory((Span(TAGS.installed_ms, None, replace(TAGS, device=device, gateway="")),))
            for device in ("gw-1", "soil-1")}
    own = _run([Reading(device="gw-1", ts=NOW, values={"soil_moisture": 30.0})], lookup=node.get)
    assert len(own.lines) == 1 and not own.rejected
    other = _run([_reading()], lookup=node.get)
    assert not other.lines and "(on no gateway)" in other.rejected[0].reason


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
