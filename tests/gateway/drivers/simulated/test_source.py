"""The simulated driver's plugin: its options from a file reach the simulator it wraps."""

from __future__ import annotations

from pathlib import Path

import pytest
from iotgw.gateway import GatewayError, load_gateway_config
from iotgw.gateway.drivers import driver_module


def test_seed_samples_and_faults_from_the_file_drive_the_simulator(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "s1"\n'
                    'driver = "simulated"\nprofile = "soil_probe"\ninterval_s = 1\nsamples = 3\nseed = 7\n'
                    '[devices.faults]\ndropout = 1.0\n')
    [device] = load_gateway_config(path).devices
    source = driver_module("simulated").make_source(device)
    assert [source.read(1_790_000_000_000 + i) for i in range(3)] == [[], [], []]  # every reading dropped
    assert source.finished and source.faulted["dropout"] == 3


def test_a_profile_without_a_signal_model_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text('gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n[[devices]]\nid = "s1"\n'
                    'driver = "simulated"\nprofile = "pest_trap"\ninterval_s = 1\n')
    [device] = load_gateway_config(path).devices
    with pytest.raises(GatewayError, match="device 's1': no simulated profile 'pest_trap'"):
        driver_module("simulated").make_source(device)
