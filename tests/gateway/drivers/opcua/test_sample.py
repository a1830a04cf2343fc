"""The plugin's ``sample.toml`` loads and reads the line it describes; certificate paths
are taken from the configuration file's folder; a wrong option is an error of its line."""

from __future__ import annotations

from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway.drivers.opcua import make_source

from tests.gateway.drivers import samples
from tests.gateway.drivers.opcua.server import LineServer

SAMPLE = samples.sample("opcua")
ENDPOINT = 'endpoint = "opc.tcp://192.168.1.60:4840/"'


@pytest.mark.integration
def test_the_sample_reads_the_line_it_describes(tmp_path: Path) -> None:
    line = LineServer()
    line.start()
    try:
        sample = SAMPLE.read_text().replace(ENDPOINT, f'endpoint = "{line.endpoint}"')
        [device] = samples.load(tmp_path, sample).devices
        source = make_source(device)
        try:
            [reading] = source.read(1_790_000_000_000)
        finally:
            source.close()
    finally:
        line.close()
    assert reading.values == pytest.approx({"air_temperature": 21.5, "relative_humidity": 64.0,
                                            "air_pressure": 1012.3})


def test_certificates_are_found_from_the_configuration_files_folder(tmp_path: Path) -> None:
    secured = SAMPLE.read_text().replace('# security_policy = "None"', 'security_policy = "Basic256Sha256"')
    for key in ("certificate", "private_key", "server_certificate", "application_uri"):
        secured = secured.replace(f"# {key} = ", f"{key} = ")
    [device] = samples.load(tmp_path, secured).devices
    assert device.opcua.certificate == tmp_path / "opcua" / "gateway-cert.der"
    assert device.opcua.private_key == tmp_path / "opcua" / "gateway-key.pem"
    assert device.opcua.server_certificate == tmp_path / "opcua" / "plc-cert.der"


TEMPERATURE = 'air_temperature = "ns=2;s=Line1.Temperature"'


@pytest.mark.parametrize(("change", "message"), [
    (('# security_policy = "None"', 'security_policy = "Basic256Sha256"'),
     "Basic256Sha256 needs certificate and private_key"),
    ((TEMPERATURE, 'air_temperature = "Line1.Temperature"'),
     "line 35, devices.0.opcua.nodes.air_temperature.node: String should match pattern"),
    ((TEMPERATURE, 'soil_ph = "ns=2;s=Line1.Ph"'), "profile weather_station has no ['soil_ph']"),
    ((TEMPERATURE, 'air_temp = "ns=2;s=Line1.Temperature"'), "unknown quantities ['air_temp']"),
    ((ENDPOINT, 'endpoint = "http://192.168.1.60:4840/"'),
     "line 16, devices.0.opcua.endpoint: String should match pattern"),
])
def test_a_wrong_option_is_an_error_of_the_file(tmp_path: Path, change: tuple[str, str],
                                                message: str) -> None:
    sample = SAMPLE.read_text()
    assert change[0] in sample
    with pytest.raises(ConfigError) as caught:
        samples.load(tmp_path, sample.replace(*change))
    assert str(caught.value).startswith(f"{tmp_path / 'gateway.toml'}: line ")
    assert message in str(caught.value)


def _top_modules(tmp_path: Path, driver: str) -> set[str]:
    return {m.split(".")[0] for m in samples.loaded_modules(tmp_path, samples.sample(driver).read_text())}


def test_asyncua_is_loaded_only_by_a_gateway_that_has_opc_ua_devices(tmp_path: Path) -> None:
    """A field gateway has 1 GB: one with LoRaWAN devices only does not load asyncua."""
    assert "asyncua" in _top_modules(tmp_path, "opcua")
    assert "asyncua" not in _top_modules(tmp_path, "lorawan")
