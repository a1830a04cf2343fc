"""Who a client is, on the broker as deployed: Mosquitto 2.0.11 with the accounts, ACL,
certificates and revocation list `iotgw provision` writes (deploy/mosquitto/mosquitto.conf:
the services' plain listener, the gateways' mutual-TLS listener).

- A gateway cannot take an ingest worker's client id: not the live worker's (Mosquitto
  would close it), not an offline worker's (whose queued messages it would receive), not
  another gateway's. On the TLS listener its client id is its certificate's name whatever
  it asks for; on the plain listener its account does not exist.
- A revoked gateway's certificate is refused at the TLS handshake once the broker re-reads
  the revocation list on SIGHUP (no restart), even after the gateway is provisioned again.
- A certificate speaks only for the gateway named in it: another gateway's username and
  password beside it change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from iotgw.ingest import IngestConfig
from iotgw.ingest.config import InfluxConfig, MqttConfig
from iotgw.ingest.consumer import SUBSCRIBED
from iotgw.simulators import write_config
from iotgw.tsdb import InfluxClient

from iotgw.processes import Influxd, IotgwProcess, Mosquitto
from tests.faults import ledger
from tests.iotgw.test_cli import iotgw
from tests.mqtt_probe import CLOSED, DROPPED, SESSION_NEVER_EXPIRES, Probe, Tls, connect

pytestmark = [pytest.mark.integration, pytest.mark.faults]

GATEWAYS = ("gw-a", "gw-b", "gw-c")  # provisioned with certificates (the default)
LAB = "gw-lab"  # provisioned with --no-cert: a password, and no certificate
DEADLINE_S = 30.0
ACCEPTED = {"Success", "No matching subscribers"}  # a PUBACK for a publish the ACL allows


@dataclass
class Deployment:
    url: str
    broker: Mosquitto
    broker_dir: Path
    bundles: Path
    env: dict[str, str]
    workdir: Path

    def provision(self, gateway: str, *extra: str) -> str:
        """``iotgw provision`` with this deployment's paths; returns its stderr."""
        result = iotgw("provision", *extra, gateway, "--url", self.url, "--broker-dir",
                       str(self.broker_dir), "--ca-dir", str(self.workdir / "secrets" / "ca"))
        assert result.returncode == 0, result.stderr
        return " ".join(result.stderr.split())

    @property
    def tls_port(self) -> int:
        assert self.broker.tls_port is not None
        return self.broker.tls_port

    def tls(self, gateway: str, cert_dir: Path | None = None) -> Tls:
        """A gateway's certificate and key, from its bundle or from ``cert_dir``."""
        where = cert_dir or self.bundles / gateway
        return Tls(ca=self.broker_dir / "tls" / "ca.crt", cert=where / f"{gateway}.crt",
                   key=where / f"{gateway}.key")

    def connect_tls(self, client_id: str, cert_of: str, *, username: str | None = None,
                    password: str | None = None, clean_start: bool = True,
                    session_expiry_s: int | None = None) -> Probe:
        """Connect to the gateways' listener with ``cert_of``'s certificate."""
        return connect(self.tls_port, client_id, username, password, tls=self.tls(cert_of),
                       clean_start=clean_start, session_expiry_s=session_expiry_s)

    def log_count(self, text: str) -> int:
        return self.broker.log_path.read_text(errors="replace").count(text)


def _ok(*args: str) -> None:
    result = iotgw(*args)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Registry, `provision init`, three gateways with certificates and one lab gateway,
    and the broker running with the files all that wrote."""
    work = tmp_path_factory.mktemp("identity")
    url = f"sqlite:///{work / 'registry.sqlite'}"
    broker_dir, bundles = work / "broker", work / "bundles"
    broker = Mosquitto(work / "mosquitto", auth_dir=broker_dir, tls_dir=broker_dir / "tls")
    ids = (*GATEWAYS, LAB)
    (work / "gw.csv").write_text("id,ward_code,installed_on\n" + "".join(
        f"{g},70,2025-01-01\n" for g in ids))
    (work / "dev.csv").write_text(
        "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n" + "".join(
            f"{g}-soil,{g},soil_probe,agriculture,1,2025-01-01,70\n" for g in ids))
    _ok("registry", "init", "--url", url)
    _ok("registry", "import", "gateways", str(work / "gw.csv"), "--url", url)
    _ok("registry", "import", "devices", str(work / "dev.csv"), "--url", url)
    _ok("provision", "init", "--url", url, "--broker-dir", str(broker_dir),
        "--out", str(work / "secrets"))
    env = dict(line.split("=", 1) for line in (work / "secrets" / "secrets.env").read_text()
               .splitlines())
    deployed = Deployment(url, broker, broker_dir, bundles, env, work)
    for gateway in GATEWAYS:
        deployed.provision(gateway, "gateway", "--out", str(bundles), "--broker-port",
                           str(broker.tls_port), "--buffer-path", str(work / f"{gateway}.sqlite"))
    deployed.provision(LAB, "gateway", "--no-cert", "--out", str(bundles))
    broker.start()
    yield deployed
    broker.stop()


def _lab_password(deployment: Deployment) -> str:
    from iotgw.gateway import load_gateway_config

    password = load_gateway_config(deployment.bundles / LAB / "gateway.toml").broker.password
    assert password
    return password


def _wait(predicate, what: str, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.2)


def _refused(answer: str) -> bool:
    """A publish refused: "Not authorized", or the connection closed for it before the
    PUBACK could be read."""
    return answer == "Not authorized" or answer.startswith(CLOSED)


def _count(influx: InfluxClient, database: str) -> int:
    series = influx.query(database, 'SELECT count("quality") FROM "telemetry"')
    return int(series[0].rows[0]["count"]) if series else 0


def test_a_gateway_cannot_take_an_ingest_workers_client_id(
    deployment: Deployment, influxd: Influxd, influx: InfluxClient, database: str,
) -> None:
    work, broker = deployment.workdir / database, deployment.broker
    work.mkdir()
    share = "$share/ingest/iot/v1/+/telemetry"
    # Worker 1 runs (the default client id, iotgw-ingest-1); worker 2 is down, and the
    # broker queues its share of the stream for its session until it comes back.
    ingest_cfg = IngestConfig(
        mqtt=MqttConfig(port=broker.port, username=deployment.env["IOTGW_INGEST_USERNAME"],
                        password=deployment.env["IOTGW_INGEST_PASSWORD"]),
        influx=InfluxConfig(url=influxd.url, database=database),
        dead_letter_path=work / "dead.sqlite")
    assert ingest_cfg.mqtt.client_id == "iotgw-ingest-1"
    worker = IotgwProcess(work, "ingest", ["ingest", "run", "--config", str(
        write_config(ingest_cfg, work / "ingest.toml"))], ready_line=SUBSCRIBED)
    worker.start()
    ingest_login = (deployment.env["IOTGW_INGEST_USERNAME"], deployment.env["IOTGW_INGEST_PASSWORD"])
    offline = connect(broker.port, "iotgw-ingest-2", *ingest_login, clean_start=False,
                      session_expiry_s=SESSION_NEVER_EXPIRES)
    assert offline.connect_reason == "Success" and offline.subscribe(share) == "Granted QoS 1"
    offline.close()
    gateway = IotgwProcess(work, "gw-a", ["gateway", "run", "--config",
                                         str(deployment.bundles / "gw-a" / "gateway.toml")])
    gateway.start()
    try:
        _wait(lambda: _count(influx, database) >= 4, "gw-a's readings in InfluxDB")
        gw_b_logins = deployment.log_count("as gw-b (p5")
        # gw-b's certificate asking for each id it might take; then a gateway account that
        # has a password (the lab gateway's) asking on the services' listener.
        attacks: dict[str, Probe] = {}
        for client_id in ("iotgw-ingest-1", "iotgw-ingest-2", "ingest-1", "gw-a"):
            probe = deployment.connect_tls(client_id, "gw-b", clean_start=False,
                                           session_expiry_s=SESSION_NEVER_EXPIRES)
            probe.client.subscribe("iot/v1/+/telemetry", qos=1)
            time.sleep(1.5)  # a resumed session's queued messages would arrive now
            probe.close()
            attacks[client_id] = probe
        plain = connect(broker.port, "iotgw-ingest-2", LAB, _lab_password(deployment),
                        clean_start=False)
        plain.close()
        stored_at_attack = _count(influx, database)
        _wait(lambda: _count(influx, database) >= stored_at_attack + 4,
              "gw-a's readings still arriving after the attack")

        taken = [cid for cid, p in attacks.items() if p.connect_reason != "Success" or p.messages]
        # The broker's own log names the client id each connection got.
        as_themselves = (deployment.log_count("as gw-b (p5") == gw_b_logins + len(attacks)
                         and deployment.log_count("as iotgw-ingest-2 (p5") == 1)
        worker_kept = (deployment.log_count("Client iotgw-ingest-1 already connected") == 0
                       and worker.running and worker.log_tail(200).count("connected to broker") == 1)
        ledger.refused("gateway takes the live ingest worker's client id", ok=(
            worker_kept and not taken and as_themselves),
            verdict="connected as itself (gw-b); worker kept its connection and stream")
        gateway_kept = deployment.log_count("Client gw-a already connected") == 0 and gateway.running
        ledger.refused("gateway takes another gateway's client id", ok=gateway_kept and as_themselves,
                       verdict="connected as itself; the other gateway kept its connection")
        ledger.refused("gateway account logs in on the services' listener",
                       ok=plain.connect_reason == "Not authorized", verdict=plain.connect_reason)

        # Worker 2 comes back: its session still holds the messages queued for it.
        back = connect(broker.port, "iotgw-ingest-2", *ingest_login, clean_start=False,
                       session_expiry_s=SESSION_NEVER_EXPIRES)
        back._wait(lambda: len(back.messages) > 0, "worker 2's queued messages")
        time.sleep(1.0)
        queued = list(back.messages)
        back.close()
        retired = connect(broker.port, "iotgw-ingest-2", *ingest_login)  # clean start: retired
        retired.close()
        only_gw_a = {topic for topic, _ in queued} == {"iot/v1/gw-a/telemetry"}
        ledger.refused("gateway takes an offline ingest worker's id (its queued messages)", ok=(
            back.session_present and only_gw_a and not attacks["iotgw-ingest-2"].messages),
            verdict=f"gateway received none; the worker's session kept its {len(queued)} queued")
    finally:
        gateway.stop()
        worker.stop()


def test_a_revoked_certificate_is_refused_after_sighup(deployment: Deployment) -> None:
    old = deployment.workdir / "gw-c-old"  # its certificate as issued, kept by its holder
    old.mkdir()
    for name in ("gw-c.crt", "gw-c.key"):
        (old / name).write_bytes((deployment.bundles / "gw-c" / name).read_bytes())
    serial = x509.load_pem_x509_certificate((old / "gw-c.crt").read_bytes()).serial_number

    said = deployment.provision("gw-c", "revoke")
    crl = x509.load_pem_x509_crl((deployment.broker_dir / "tls" / "ca.crl").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(serial) is not None
    assert f"certificate serial {serial:x}" in said and "SIGHUP" in said
    # Until the broker re-reads its files nothing has changed for it: gw-c connects and
    # publishes. (Every connection with gw-c's certificate is client gw-c: one at a time.)
    live = connect(deployment.tls_port, "gw-c", tls=deployment.tls("gw-c", old))
    assert live.connect_reason == "Success"
    assert live.publish("iot/v1/gw-c/telemetry", b"before") in ACCEPTED

    deployment.broker.reload()
    answers: list[str] = []

    def rights_gone() -> bool:  # the reload is done once the open connection has no rights
        answers.append(live.publish("iot/v1/gw-c/telemetry", b"after"))
        return _refused(answers[-1])

    _wait(rights_gone, "the reload to take gw-c's rights", timeout_s=10)
    # Mosquitto 2.0.11 with `max_queued_messages 0` closes a client after refusing its
    # QoS 1 publish: the open connection ends at its first attempt.
    _wait(lambda: bool(live.disconnects), "the broker to close gw-c's open connection", 10)
    live.close()
    refused = connect(deployment.tls_port, "gw-c", tls=deployment.tls("gw-c", old))
    refused.close()
    others = deployment.connect_tls("gw-a", "gw-a")
    others.close()
    ledger.refused("revoked gateway certificate (SIGHUP, no restart)", ok=(
        refused.connect_reason.startswith(DROPPED) and others.connect_reason == "Success"),
        verdict="TLS handshake refused; an open connection's next publish Not authorized,"
                " then closed")

    # Provisioned again, gw-c gets a new certificate naming the same account: the ACL lets
    # that name in again, and only the revocation list keeps the old certificate out.
    deployment.provision("gw-c", "gateway", "--out", str(deployment.bundles), "--broker-port",
                         str(deployment.tls_port))
    deployment.broker.reload()
    new = deployment.connect_tls("gw-c", "gw-c")
    _wait(lambda: new.publish("iot/v1/gw-c/telemetry", b"new") in ACCEPTED,
          "the reload to give gw-c's new certificate its rights", timeout_s=10)
    new.close()
    again = connect(deployment.tls_port, "gw-c", tls=deployment.tls("gw-c", old))
    again.close()
    ledger.refused("revoked certificate of a gateway provisioned again",
                   ok=again.connect_reason.startswith(DROPPED), verdict="TLS handshake refused")


def test_a_certificate_speaks_only_for_its_gateway(deployment: Deployment) -> None:
    broker = deployment.broker
    operator = connect(broker.port, "iotgw-operator", deployment.env["IOTGW_ADMIN_USERNAME"],
                       deployment.env["IOTGW_ADMIN_PASSWORD"])
    assert operator.subscribe("iot/v1/+/telemetry") == "Granted QoS 1"
    before = deployment.log_count("as gw-b (p5")
    # gw-b's certificate with the lab gateway's real username and password, then with
    # gw-a's username (a certificate gateway has no password at all).
    verdicts = []
    for victim, password in ((LAB, _lab_password(deployment)), ("gw-a", "anything")):
        for _ in range(3):  # a handshake dropped under load is tried again; a refusal stays one
            probe = deployment.connect_tls(victim, "gw-b", username=victim, password=password)
            if not probe.connect_reason.startswith(DROPPED):
                break
            probe.close()
        assert probe.connect_reason == "Success"
        verdicts.append((probe.publish("iot/v1/gw-b/telemetry", b"own"),
                         probe.publish(f"iot/v1/{victim}/telemetry", b"forged")))
        probe.close()
    time.sleep(0.5)  # anything the broker let through would have arrived by now
    forged = [m for m in operator.messages if m[1] == b"forged"]
    operator.close()
    logins = deployment.log_count("as gw-b (p5") - before
    ok = all(own in ACCEPTED and _refused(spoofed) for own, spoofed in verdicts)
    ledger.refused("certificate of gateway A with gateway B's username and password", ok=(
        ok and not forged and logins == 2),
        verdict="logged in as A: publishing as B Not authorized, nothing delivered" if ok else
        f"answers (own, forged) {verdicts}, {len(forged)} forged delivered, {logins} logins as A")
