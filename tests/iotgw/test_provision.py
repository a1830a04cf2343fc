"""The operator's path, through the CLI: register, provision, run the bundle, revoke."""

from __future__ import annotations

import re
import shutil
import ssl
import stat
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from iotgw.gateway import load_gateway_config
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.registry.certificates import create_ca, issue
from iotgw.simulators import write_config
from iotgw.tsdb import InfluxClient
from paho.mqtt.enums import CallbackAPIVersion

from iotgw.processes import Influxd, IotgwProcess, Mosquitto
from tests.faults import ledger
from tests.iotgw.test_cli import iotgw
from tests.mqtt_probe import DROPPED, Tls, connect

pytestmark = pytest.mark.integration


def _ok(*args: str) -> str:
    result = iotgw(*args)
    assert result.returncode == 0, result.stderr
    return result.stderr


def _registered(tmp_path: Path, devices: list[str]) -> str:
    """A registry (its URL) with these devices ("id,gateway,profile,sector,interval_s") and
    their gateways, all in ward 70 from 2025-01-01, imported as an operator does."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    gateways = dict.fromkeys(row.split(",")[1] for row in devices)
    (tmp_path / "gw.csv").write_text("id,ward_code,installed_on\n"
                                     + "".join(f"{gw},70,2025-01-01\n" for gw in gateways))
    (tmp_path / "dev.csv").write_text(
        "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n"
        + "".join(f"{row},2025-01-01,70\n" for row in devices))
    _ok("registry", "init", "--url", url)
    _ok("registry", "import", "gateways", str(tmp_path / "gw.csv"), "--url", url)
    _ok("registry", "import", "devices", str(tmp_path / "dev.csv"), "--url", url)
    return url


def _provisioned(tmp_path: Path) -> tuple[str, Path, Path, Path, Mosquitto]:
    """A registry with gateway gw-p1 and two devices, provisioned with a client
    certificate (the default): (registry url, broker dir, secrets dir, bundle, broker not
    yet started)."""
    url = _registered(tmp_path, ["p1-soil,gw-p1,soil_probe,agriculture,1",
                                 "p1-meter,gw-p1,electricity_meter,energy,1"])
    broker_dir, secrets, bundles = tmp_path / "broker", tmp_path / "secrets", tmp_path / "bundles"
    broker = Mosquitto(tmp_path / "mosquitto", auth_dir=broker_dir, tls_dir=broker_dir / "tls")
    _ok("provision", "init", "--url", url, "--broker-dir", str(broker_dir), "--out", str(secrets))
    # The gateway comes in over mutual TLS; ingest, on the broker's host, over loopback.
    _ok("provision", "gateway", "gw-p1", "--url", url, "--broker-dir", str(broker_dir),
        "--out", str(bundles), "--broker-host", "localhost", "--broker-port", str(broker.tls_port),
        "--buffer-path", str(tmp_path / "buffer.sqlite"), "--ca-dir", str(secrets / "ca"))
    return url, broker_dir, secrets, bundles / "gw-p1" / "gateway.toml", broker


def test_a_provisioned_gateway_reports_and_a_revoked_one_is_refused(
    tmp_path: Path, influxd: Influxd, influx: InfluxClient, database: str,
) -> None:
    url, broker_dir, secrets, bundle, broker = _provisioned(tmp_path)
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert stat.S_IMODE((secrets / "secrets.env").stat().st_mode) == 0o600
    bundled = load_gateway_config(bundle)
    assert [d.id for d in bundled.devices] == ["p1-meter", "p1-soil"]
    assert bundled.broker.tls is not None and bundled.broker.tls.cert_file == bundle.parent / "gw-p1.crt"
    assert bundled.broker.password is None  # the certificate is the credential
    assert stat.S_IMODE((bundle.parent / "gw-p1.key").stat().st_mode) == 0o600
    env = dict(line.split("=", 1) for line in (secrets / "secrets.env").read_text().splitlines())

    broker.start()
    try:
        ingest_cfg = IngestConfig(
            mqtt=MqttConfig(port=broker.port, username=env["IOTGW_INGEST_USERNAME"],
                            password=env["IOTGW_INGEST_PASSWORD"], client_id="prov-ingest"),
            influx=InfluxConfig(url=influxd.url, database=database),
            dead_letter_path=tmp_path / "dead.sqlite")
        ingest = IotgwProcess(tmp_path, "ingest", ["ingest", "run", "--config", str(
            write_config(ingest_cfg, tmp_path / "ingest.toml"))], ready_line=SUBSCRIBED)
        ingest.start()
        gateway = IotgwProcess(tmp_path, "gw-p1", ["gateway", "run", "--config", str(bundle)])
        gateway.start()
        deadline = time.monotonic() + 30
        stored: dict[str, int] = {}
        while time.monotonic() < deadline and not (len(stored) == 2 and min(stored.values()) >= 2):
            time.sleep(0.5)
            stored = {s.tags["device"]: s.rows[0]["count"] for s in influx.query(
                database, 'SELECT count("quality") FROM "telemetry" GROUP BY "device"')}
        assert set(stored) == {"p1-soil", "p1-meter"}, gateway.log_tail()
        assert min(stored.values()) >= 2
        # Without a client certificate the TLS listener never lets the client in (under
        # TLS 1.3 it drops it right after the handshake).
        assert not _tls_connects(broker.tls_port, bundle.parent / "ca.crt", "gw-p1", None)
        gateway.stop()
        ingest.stop()

        revoked = _ok("provision", "revoke", "gw-p1", "--url", url, "--broker-dir", str(broker_dir),
                      "--ca-dir", str(secrets / "ca"))
        assert "ca.crl" in revoked and "SIGHUP" in revoked
        broker.reload()
        tls = Tls(bundle.parent / "ca.crt", bundle.parent / "gw-p1.crt", bundle.parent / "gw-p1.key")
        deadline = time.monotonic() + 10
        while True:  # the broker applies SIGHUP in its next loop
            probe = connect(broker.tls_port, "gw-p1", tls=tls)
            probe.close()
            if probe.connect_reason.startswith(DROPPED) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert probe.connect_reason.startswith(DROPPED)
    finally:
        broker.stop()


def test_bundles_default_to_mutual_tls_on_8883_and_a_lab_bundle_says_what_it_gives_up(
        tmp_path: Path) -> None:
    url = _registered(tmp_path, ["d1-soil,gw-d1,soil_probe,agriculture,60",
                                 "l1-soil,gw-l1,soil_probe,agriculture,60"])
    common = ("--url", url, "--broker-dir", str(tmp_path / "broker"), "--out", str(tmp_path / "b"),
              "--ca-dir", str(tmp_path / "secrets" / "ca"))
    _ok("provision", "init", "--url", url, "--broker-dir", str(tmp_path / "broker"),
        "--out", str(tmp_path / "secrets"))
    quiet = _ok("provision", "gateway", "gw-d1", *common)
    lab = " ".join(_ok("provision", "gateway", "gw-l1", "--no-cert", *common).split())
    deployed = load_gateway_config(tmp_path / "b" / "gw-d1" / "gateway.toml").broker
    assert (deployed.port, deployed.tls is not None, deployed.password) == (8883, True, None)
    assert "warning" not in quiet
    lab_cfg = load_gateway_config(tmp_path / "b" / "gw-l1" / "gateway.toml").broker
    assert (lab_cfg.port, lab_cfg.tls, bool(lab_cfg.password)) == (1883, None, True)
    assert "warning: no client certificate" in lab and "deployed broker refuses it" in lab
    # Each listener's files: the services' lists no gateway, the gateways' no service.
    broker = tmp_path / "broker"
    def users(name: str) -> set[str]:
        return set(re.findall(r"^(?:user )?([\w.-]+)(?::|$)", (broker / name).read_text(), re.M))

    assert users("services.passwd") == users("services.acl") == {"ingest", "iotgw-admin"}
    assert users("gateways.acl") == {"gw-d1", "gw-l1"}
    assert users("passwd") == {"ingest", "iotgw-admin", "gw-d1", "gw-l1"}  # the lab broker's


def test_a_gateway_id_in_the_services_namespace_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    _ok("registry", "init", "--url", url)
    result = iotgw("provision", "gateway", "iotgw-ingest-1", "--url", url,
                   "--broker-dir", str(tmp_path / "b"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "'iotgw-' starts the central services' client ids, so no gateway id may" in result.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.faults
def test_a_certificate_from_another_ca_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    _, _, _, bundle, broker = _provisioned(tmp_path)
    rogue = issue(create_ca(tmp_path / "rogue-ca", common_name="not ours"), "gw-p1", tmp_path / "rogue")
    shutil.copy(rogue.cert, bundle.parent / "gw-p1.crt")
    shutil.copy(rogue.key, bundle.parent / "gw-p1.key")
    broker.start()
    try:
        gateway = IotgwProcess(tmp_path, "gw-p1", ["gateway", "run", "--config", str(bundle)])
        gateway.start()
        deadline = time.monotonic() + 20
        while "cannot connect to the broker" not in gateway.log_tail() and time.monotonic() < deadline:
            time.sleep(0.2)
        log = gateway.log_tail()
        ledger.refused("TLS client certificate from another CA", ok=(
            "cannot connect to the broker (retrying): the broker refused this gateway's "
            f"certificate {bundle.parent / 'gw-p1.crt'}") in log, verdict="refused, gateway retries")
        assert gateway.proc.poll() is None  # it keeps reading and buffering, and retries
        gateway.stop()
    finally:
        broker.stop()


def test_a_certificate_without_a_ca_is_refused_before_anything_changes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    _ok("registry", "init", "--url", url)
    result = iotgw("provision", "gateway", "gw-1", "--cert", "--ca-dir", str(tmp_path / "none"),
                   "--url", url, "--broker-dir", str(tmp_path / "b"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "run `iotgw provision init` first" in result.stderr
    assert not (tmp_path / "b").exists()


def test_provisioning_an_unregistered_gateway_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    _ok("registry", "init", "--url", url)
    result = iotgw("provision", "gateway", "gw-ghost", "--no-cert", "--url", url,
                   "--broker-dir", str(tmp_path / "b"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "no gateway 'gw-ghost'" in result.stderr
    assert not (tmp_path / "o").exists()


def test_a_driver_that_needs_per_device_settings_is_refused_before_anything_changes(tmp_path: Path) -> None:
    """The registry knows no Modbus address or map: such a bundle could not load."""
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    _ok("registry", "init", "--url", url)
    result = iotgw("provision", "gateway", "gw-1", "--no-cert", "--driver", "modbus", "--url", url,
                   "--broker-dir", str(tmp_path / "b"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2
    assert "--driver modbus: each device needs its [devices.modbus] settings" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists() and not (tmp_path / "o").exists()


def _tls_connects(port: int, ca: Path, username: str, password: str | None) -> bool:
    """Whether a TLS client without a certificate gets a successful CONNACK within 5 s."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="no-cert", protocol=mqtt.MQTTv5,
                         reconnect_on_failure=False)
    client.tls_set(ca_certs=str(ca))
    client.username_pw_set(username, password)
    accepted = threading.Event()
    client.on_connect = lambda _c, _u, _f, reason, _p: accepted.set() if not reason.is_failure else None
    try:
        client.connect("localhost", port)
    except (ssl.SSLError, OSError):
        return False
    client.loop_start()
    try:
        return accepted.wait(5.0)
    finally:
        client.disconnect()
        client.loop_stop()


def test_init_generates_every_service_secret_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite'}"
    args = ("provision", "init", "--url", url, "--broker-dir", str(tmp_path / "broker"),
            "--out", str(tmp_path / "secrets"))
    _ok("registry", "init", "--url", url)
    _ok(*args)
    env_path = tmp_path / "secrets" / "secrets.env"
    first = dict(line.split("=", 1) for line in env_path.read_text().splitlines())
    passwords = [v for k, v in first.items() if k.endswith("PASSWORD")]
    assert sorted(first) == sorted([
        "IOTGW_ADMIN_USERNAME", "IOTGW_ADMIN_PASSWORD", "IOTGW_INGEST_USERNAME",
        "IOTGW_INGEST_PASSWORD", "INFLUXDB_ADMIN_USER", "INFLUXDB_ADMIN_PASSWORD",
        "INFLUXDB_READ_USER", "INFLUXDB_READ_USER_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD",
        "IOTGW_INFLUX_INGEST_USER", "IOTGW_INFLUX_INGEST_PASSWORD", "IOTGW_INFLUX_ROLLUP_USER",
        "IOTGW_INFLUX_ROLLUP_PASSWORD", "IOTGW_INFLUX_API_USER", "IOTGW_INFLUX_API_PASSWORD"])
    assert len(set(passwords)) == 8 and all(len(p) >= 24 for p in passwords)
    again = _ok(*args)
    assert "new credentials" not in again
    assert dict(line.split("=", 1) for line in env_path.read_text().splitlines()) == first
