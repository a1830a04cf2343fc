"""The OPC UA source against a real asyncua server: configured nodes read into one
reading, statuses honoured, and a server that goes away retried with backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import ua
from cryptography.x509.oid import ExtendedKeyUsageOID
from iotgw.gateway.config import DeviceConfig
from iotgw.gateway.drivers.opcua import make_source
from iotgw.gateway.drivers.opcua.source import OpcuaSource
from iotgw.gateway.errors import DeviceReadError

from tests.gateway.drivers.opcua.server import LineServer, make_certificate

pytestmark = pytest.mark.integration

NODES = {"air_temperature": "ns=2;s=Line1.Temperature",
         "relative_humidity": {"node": "ns=2;s=Line1.Humidity"},
         "air_pressure": {"node": "ns=2;s=Line1.Pressure", "scale": 0.1}}


@pytest.fixture(scope="module")
def line() -> Iterator[LineServer]:
    server = LineServer()
    server.start()
    yield server
    server.close()


def _source(endpoint: str, nodes: dict = NODES, **link: object) -> OpcuaSource:
    device = DeviceConfig(id="line1-climate", driver="opcua", profile="weather_station", interval_s=1,
                          opcua={"endpoint": endpoint, "nodes": nodes, "timeout_s": 1, **link})
    source = make_source(device)
    assert isinstance(source, OpcuaSource)
    return source


def test_configured_nodes_are_read_into_one_reading_stamped_by_the_agent(line: LineServer) -> None:
    source = _source(line.endpoint)
    try:
        reading, = source.read(1_790_000_000_000)
        assert reading.device == "line1-climate" and reading.ts == 1_790_000_000_000
        assert reading.values == pytest.approx({"air_temperature": 21.5, "relative_humidity": 64.0,
                                                "air_pressure": 1012.3})
        assert reading.quality == "good"
        line.set("Line1.Temperature", 22.25)
        assert source.read(1_790_000_001_000)[0].values["air_temperature"] == 22.25
    finally:
        source.close()


def test_a_bad_node_is_left_out_and_an_uncertain_one_marks_the_reading(line: LineServer) -> None:
    nodes = {**NODES, "wind_speed": "ns=2;s=Line1.NoSuchThing"}  # BadNodeIdUnknown
    source = _source(line.endpoint, nodes)
    try:
        line.set("Line1.Humidity", 65.0, ua.StatusCodes.UncertainLastUsableValue)
        reading, = source.read(1)
        assert set(reading.values) == {"air_temperature", "relative_humidity", "air_pressure"}
        assert reading.quality == "uncertain"
    finally:
        line.set("Line1.Humidity", 64.0)
        source.close()
    only_missing = _source(line.endpoint, {"wind_speed": "ns=2;s=Line1.NoSuchThing"})
    try:
        with pytest.raises(DeviceReadError, match=r"no node .* gave a number"):
            only_missing.read(1)
    finally:
        only_missing.close()


def test_a_server_that_goes_away_is_retried_with_backoff() -> None:
    server = LineServer()
    server.start()
    source = _source(server.endpoint, reconnect_min_s=0.5, reconnect_max_s=2)
    try:
        assert source.read(1)
        server.stop()
        with pytest.raises(DeviceReadError, match="read failed"):
            source.read(2)
        with pytest.raises(DeviceReadError, match="unreachable; next try in"):
            source.read(3)  # within the backoff: no connection tried
        time.sleep(0.6)
        with pytest.raises(DeviceReadError, match=r"cannot connect.*next try in 1\.0s"):
            source.read(4)  # tried, refused: the delay doubled
        server.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                reading, = source.read(5)
                break
            except DeviceReadError:
                assert time.monotonic() < deadline, "not reconnected within 15 s"
                time.sleep(0.2)
        assert reading.values["air_temperature"] == 21.5
    finally:
        source.close()
        server.close()


def test_basic256sha256_with_the_gateways_certificate(tmp_path: Path) -> None:
    server = LineServer(secured_in=tmp_path / "plc")
    server.start()
    key, cert = asyncio.run(make_certificate(tmp_path / "gw", "gateway", "urn:iotgw:gateway",
                                             ExtendedKeyUsageOID.CLIENT_AUTH))
    secured = _source(server.endpoint, security_policy="Basic256Sha256", certificate=cert,
                      private_key=key, application_uri="urn:iotgw:gateway",
                      server_certificate=tmp_path / "plc" / "server-cert.der")
    plain = _source(server.endpoint)
    try:
        reading, = secured.read(1)
        assert reading.values["air_temperature"] == 21.5
        with pytest.raises(DeviceReadError, match="cannot connect"):
            plain.read(1)  # the server offers no unsecured endpoint
    finally:
        secured.close()
        plain.close()
        server.close()
