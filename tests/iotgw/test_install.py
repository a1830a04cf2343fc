"""iotgw installed as its users install it: the wheel, in a fresh virtual environment
outside the checkout. The server from the wheel with its `server` extra (the package
registry, pinned by constraints/server.txt); a field gateway from its provisioning bundle's
wheelhouse alone, no index, then publishing to the real broker."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import tomllib
import zipfile
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from iotgw.gateway import load_gateway_config
from iotgw.simulators import write_config
from paho.mqtt.enums import CallbackAPIVersion

from iotgw.processes import Mosquitto
from tests.iotgw.test_cli import iotgw
from tests.iotgw.test_conventions import SERVER_ONLY
from tests.iotgw.test_provision import _registered

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# Only the variables a person's shell would have: nothing of the checkout's environment
# (PYTHONPATH, the dev venv) may leak into the installed commands.
BASE_ENV = {k: v for k, v in os.environ.items() if k in ("HOME", "LANG", "TMPDIR")}


def run(cmd: list[str | Path], cwd: Path, *, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env={**BASE_ENV, "COLUMNS": "200", **(env or {})})
    assert result.returncode == 0, f"{cmd}: {result.stdout}{result.stderr}"
    return result


def venv(where: Path) -> Path:
    """A fresh virtual environment; its bin/ folder."""
    run([sys.executable, "-m", "venv", where], where.parent)
    return where / "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of what the Dockerfile copies: a build in the checkout would leave
    build/ there, whose stale files a later wheel could pick up."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in {"iotgw", *setuptools["package-dir"].values()}:
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", out, src], out)
    return next(out.glob("iotgw-*.whl"))


def test_the_wheel_carries_every_file_of_its_packages(wheel: Path) -> None:
    """A data file added to a package (a profile, a driver's sample config) and not to
    package-data is missing only once installed: found here instead."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {"iotgw": "iotgw", **setuptools["package-dir"]}
    expected = {f"{package.replace('.', '/')}/{path.relative_to(ROOT / folder)}"
                for package, folder in folders.items() for path in (ROOT / folder).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    assert sorted(expected - shipped) == []


def test_the_wheel_installed_outside_the_checkout_runs_the_commands(tmp_path: Path, wheel: Path) -> None:
    bin_dir = venv(tmp_path / "venv")
    run([bin_dir / "pip", "install", "-q", "-c", ROOT / "constraints" / "server.txt", f"{wheel}[server]"],
        tmp_path)
    env = {"PATH": f"{bin_dir}:/usr/sbin:/usr/bin:/bin"}  # mosquitto is in /usr/sbin

    def iotgw_(*args: str) -> subprocess.CompletedProcess[str]:
        return run([bin_dir / "iotgw", *args], tmp_path, env=env)

    where = run([bin_dir / "python", "-c", "import iotgw.deploy as d; print(d.__file__)"], tmp_path, env=env)
    assert where.stdout.startswith(str(tmp_path / "venv")), where.stdout  # the wheel's, not the checkout's
    assert iotgw_("--version").stdout == "iotgw 0.1.0\n"
    scenarios = json.loads(iotgw_("sim", "list", "--json").stdout)
    assert {row["scenario"] for row in scenarios} >= {"dong_thap", "dong_nai"}
    config = tmp_path / "gw.toml"
    config.write_text('gateway_id = "gw-1"\n[buffer]\npath = "/var/lib/iotgw/buffer.sqlite"\n\n[[devices]]\n'
                      'id = "d1"\ndriver = "simulated"\nprofile = "soil_probe"\ninterval_s = 60\n')
    iotgw_("gateway", "install", "--config", str(config), "--unit-dir", str(tmp_path / "root" / "units"))
    unit = (tmp_path / "root" / "units" / "iotgw-gateway.service").read_text()
    python = rf"{tmp_path / 'venv'}/bin/python[\d.]*"  # the venv's own Python runs the agent
    assert re.search(rf"^ExecStart={python} -P -m iotgw gateway run --config {config}$", unit,
                     flags=re.M), unit
    # One read of every configured device, as a technician does before leaving the site.
    readout = json.loads(iotgw_("gateway", "test", "--config", str(config), "--json").stdout)
    assert [(row["device"], row["ok"], bool(row["readings"])) for row in readout] == [
        ("d1", True, True)], readout
    # The demo, short: broker and database from the wheel's deploy files, the API's static files.
    demo = iotgw_("demo", "--scale", "0.05", "--history-days", "0", "--duration", "5", "--interval", "1",
                  "--serve-for", "0", "--workdir", str(tmp_path / "demo"))
    stored = int(demo.stdout.split("readings stored in InfluxDB: ")[1].split()[0])
    assert stored > 0, demo.stdout
    assert "dashboard http://127.0.0.1:" in demo.stdout


def _telemetry(broker: Mosquitto, gateway_id: str) -> tuple[mqtt.Client, list[bytes]]:
    """A subscriber to the gateway's telemetry, connected, and what it receives."""
    received: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="install-test-probe")
    client.on_connect = lambda c, *_: c.subscribe(f"iot/v1/{gateway_id}/telemetry", qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    assert subscribed.wait(10), "the probe could not subscribe"
    return client, received


def test_a_gateway_installs_from_its_bundle_offline_and_publishes(
        tmp_path: Path, wheel: Path, broker: Mosquitto) -> None:
    wheelhouse = tmp_path / "wheelhouse"  # this machine's platform alone
    run([ROOT / "scripts" / "wheelhouse.sh", wheelhouse], ROOT,
        env={"PATH": os.environ["PATH"], "PY": sys.executable,
             "PLATFORMS": f"manylinux_2_17_{platform.machine()}"})
    url = _registered(tmp_path, ["w1-soil,gw-w1,soil_probe,agriculture,1",
                                 "w1-meter,gw-w1,electricity_meter,energy,1"])
    provisioned = iotgw("provision", "gateway", "gw-w1", "--url", url, "--no-cert",
                        "--broker-dir", str(tmp_path / "broker"), "--out", str(tmp_path / "bundles"),
                        "--broker-port", str(broker.port), "--wheelhouse", str(wheelhouse))
    assert provisioned.returncode == 0, provisioned.stderr
    bundle = tmp_path / "bundles" / "gw-w1"
    script = (bundle / "install.sh").read_text()
    assert "pip install --no-index --find-links wheelhouse 'iotgw[gateway]'" in script
    # The gateway: no index and no pip configuration (this machine's names local wheel
    # folders); python3 is the Python 3.11 these tests run on.
    offline = {"PATH": f"{sysconfig.get_config_var('BINDIR')}:/usr/bin:/bin", "PIP_CONFIG_FILE": os.devnull,
               "PIP_NO_INDEX": "1"}
    run(["sh", bundle / "install.sh", tmp_path / "gateway-venv"], bundle, env=offline)
    bin_dir = tmp_path / "gateway-venv" / "bin"
    missing = subprocess.run([bin_dir / "python", "-c", f"import {', '.join(SERVER_ONLY)}"],
                             capture_output=True, text=True, timeout=60)
    assert "ModuleNotFoundError" in missing.stderr  # a gateway install carries no server library
    refused = subprocess.run([bin_dir / "iotgw", "api", "run", "--config", "x.toml"], capture_output=True,
                             text=True, timeout=60, cwd=tmp_path, env={**BASE_ENV, "COLUMNS": "200"})
    assert refused.returncode == 1 and "pip install 'iotgw[server]'" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    # Its bundle's config, the devices finite and no ingest to confirm storage: the broker's
    # acknowledgement ends each reading's journey.
    cfg = load_gateway_config(bundle / "gateway.toml")
    cfg = cfg.model_copy(update={
        "buffer": cfg.buffer.model_copy(update={"path": tmp_path / "buffer.sqlite", "stored_ack": False}),
        "devices": [d.model_copy(update={"samples": 3, "interval_s": 0.2}) for d in cfg.devices]})
    config = write_config(cfg, tmp_path / "gateway.toml")
    client, received = _telemetry(broker, "gw-w1")
    try:
        run([bin_dir / "iotgw", "gateway", "run", "--config", config, "--exit-when-drained"], tmp_path,
            env={"PATH": "/usr/bin:/bin"}, timeout=120)
        deadline = time.monotonic() + 10  # QoS 1: what the broker acknowledged reaches the probe
        while (readings := sum(len(json.loads(p)["readings"]) for p in received)) < 6:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        client.loop_stop()
        client.disconnect()
    assert readings == 6, received
