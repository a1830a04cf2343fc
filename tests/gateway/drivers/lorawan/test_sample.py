"""The plugin's ``sample.toml`` loads, maps ChirpStack's documented uplink as it says, and
a wrong mapping is an error of the file's line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from iotgw.devices import ConfigError
from iotgw.gateway.drivers.lorawan import make_source
from iotgw.gateway.drivers.lorawan.source import LorawanSource

from iotgw.processes import Mosquitto
from tests.gateway.drivers import samples
from tests.gateway.drivers.lorawan.chirpstack import publish, retire, uplink

SAMPLE = samples.sample("lorawan")


@pytest.mark.integration
def test_the_sample_maps_the_documented_uplink(tmp_path: Path, broker: Mosquitto, unique_name: str) -> None:
    sample = SAMPLE.read_text().replace('id = "soil-probe-17"', f'id = "{unique_name}"').replace(
        "# [devices.lorawan.broker]\n# host = \"127.0.0.1\"\n# port = 1883",
        f"[devices.lorawan.broker]\nport = {broker.port}")
    [device] = samples.load(tmp_path, sample).devices
    source = make_source(device)
    assert isinstance(source, LorawanSource)
    try:
        source.read(0)
        assert source.subscribed.wait(10)
        publish(broker.port, [uplink("soil_probe")])
        deadline = time.monotonic() + 10
        while not (readings := source.read(0)):
            assert time.monotonic() < deadline, "no reading within 10 s"
            time.sleep(0.05)
        [reading] = readings
        assert reading.values == pytest.approx({"soil_moisture": 41.2, "soil_temperature": 23.4,
                                                "soil_ec": 640.0})
        source.committed()
    finally:
        source.close()
        retire(broker.port, unique_name)


@pytest.mark.parametrize(("change", "message"), [
    (('"soil.conductivity" = { quantity = "soil_ec" }', '"rain" = { quantity = "rainfall" }'),
     "devices.0: Value error, profile soil_probe has no ['rainfall']"),
    (('"soil.conductivity" = { quantity = "soil_ec" }', '"x" = { quantity = "soil_wetness" }'),
     "line 31, devices.0.lorawan.fields.x.quantity: Value error, unknown quantity 'soil_wetness'"),
    (('dev_eui = "a84041000181c3e5"', 'dev_eui = "a84041000181c3"'),
     "line 18, devices.0.lorawan.dev_eui: String should match pattern"),
    (('"soil.temperature" = { quantity = "soil_temperature" }',
      '"soil.temp" = { quantity = "soil_moisture" }'),
     "devices.0.lorawan.fields: Value error, quantities mapped from two fields: ['soil_moisture']"),
])
def test_a_wrong_mapping_is_an_error_of_the_files_line(
        tmp_path: Path, change: tuple[str, str], message: str) -> None:
    sample = SAMPLE.read_text()
    assert change[0] in sample
    with pytest.raises(ConfigError) as caught:
        samples.load(tmp_path, sample.replace(*change))
    assert message in str(caught.value)
