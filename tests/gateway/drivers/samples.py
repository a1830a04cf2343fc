"""A driver plugin's ``sample.toml`` (or any ``[[devices]]`` text) as the devices of a
gateway configuration file, loaded in-process or by a fresh interpreter that builds their
sources, to see which modules a field gateway would load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from iotgw.gateway import GatewayConfig, load_gateway_config

ROOT = Path(__file__).resolve().parents[3]
HEADER = 'gateway_id = "gw-1"\n[buffer]\npath = "b.sqlite"\n\n'
LOAD_AND_BUILD = """
import sys
from pathlib import Path
from iotgw.gateway import build_sources, load_gateway_config
build_sources(load_gateway_config(Path(sys.argv[1])).devices)
print(" ".join(sorted(sys.modules)))
"""


def sample(driver: str) -> Path:
    """The plugin folder's ``sample.toml`` of ``driver``."""
    return ROOT / "gateway" / "drivers" / driver / "sample.toml"


def write_config(tmp_path: Path, devices: str) -> Path:
    """``gateway.toml`` in ``tmp_path``: a gateway with a buffer, then ``devices``."""
    path = tmp_path / "gateway.toml"
    path.write_text(HEADER + devices)
    return path


def load(tmp_path: Path, devices: str) -> GatewayConfig:
    """The configuration of ``write_config``, loaded as the agent loads it."""
    return load_gateway_config(write_config(tmp_path, devices))


def loaded_modules(tmp_path: Path, devices: str) -> set[str]:
    """Every module a fresh interpreter has once it has loaded ``devices`` and built their
    sources."""
    result = subprocess.run([sys.executable, "-c", LOAD_AND_BUILD, str(write_config(tmp_path, devices))],
                            capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())
