"""docker-compose.yml as Compose itself reads it (Debian's docker-compose; no engine needed),
with the secrets `iotgw provision init` generates, and the Dockerfile it builds. The
broker's health check is also run, as written, against the real Mosquitto as deployed."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from iotgw.api.config import load_api_config
from iotgw.ingest.config import load_ingest_config
from iotgw.rollup.config import load_rollup_config

from iotgw.processes import DEPLOY, Mosquitto
from tests.iotgw.test_cli import iotgw

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
LOADERS = {"ingest.toml": load_ingest_config, "rollup.toml": load_rollup_config,
           "api.toml": load_api_config}
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN", re.I)


def compose_config(*env_file: Path) -> subprocess.CompletedProcess[str]:
    args = ["docker-compose", "--project-directory", str(ROOT), "-f", str(COMPOSE)]
    for path in env_file:
        args += ["--env-file", str(path)]
    # Only the env file may supply values: none may leak in from the test's environment.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60, env=env,
                          cwd=ROOT)


@pytest.fixture(scope="module")
def broker_dir(secrets_env: Path) -> Path:
    """The broker directory `iotgw provision init` wrote beside ``secrets_env``."""
    return secrets_env.parent.parent / "broker"


@pytest.fixture(scope="module")
def secrets_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("provision")
    url = f"sqlite:///{work / 'registry.sqlite'}"
    for args in (("registry", "init", "--url", url),
                 ("provision", "init", "--url", url, "--broker-dir", str(work / "broker"),
                  "--out", str(work / "secrets"))):
        result = iotgw(*args)
        assert result.returncode == 0, result.stderr
    return work / "secrets" / "secrets.env"


@pytest.fixture(scope="module")
def services(secrets_env: Path) -> dict[str, Any]:
    result = compose_config(secrets_env)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def ours(services: dict[str, Any]) -> dict[str, Any]:
    """The services built from this repository's Dockerfile."""
    return {name: s for name, s in services.items() if "build" in s}


def test_without_the_secrets_compose_refuses_to_start() -> None:
    result = compose_config()
    assert result.returncode != 0
    assert "run iotgw provision init" in result.stderr


def long_running(services: dict[str, Any]) -> dict[str, Any]:
    """Every service but the one-shot ones (``restart: "no"``), which have no health."""
    return {name: s for name, s in services.items() if s.get("restart") != "no"}


def test_every_service_of_ours_has_a_health_check(services: dict[str, Any]) -> None:
    assert set(ours(services)) == {"influx-accounts", "ingest-1", "ingest-2", "rollup", "api"}
    assert set(services) - set(long_running(services)) == {"influx-accounts"}
    for name, service in long_running(services).items():
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    assert services["rollup"]["healthcheck"]["test"][1:4] == ["iotgw", "rollup", "check"]


def test_no_secret_has_a_default() -> None:
    """Every secret is `${NAME:?...}`: from secrets.env or compose stops; never a literal."""
    text = COMPOSE.read_text()
    secret_lines = [line.strip() for line in text.splitlines()
                    if re.match(r"\s*[A-Z_]+:", line) and SECRET.search(line.split(":", 1)[0])]
    assert {line.split(":")[0] for line in secret_lines} == {
        "IOTGW_INGEST_PASSWORD", "INFLUXDB_ADMIN_PASSWORD",
        "INFLUXDB_READ_USER_PASSWORD", "GF_SECURITY_ADMIN_PASSWORD", "IOTGW_INFLUX_INGEST_PASSWORD",
        "IOTGW_INFLUX_ROLLUP_PASSWORD", "IOTGW_INFLUX_API_PASSWORD"}
    for line in secret_lines:
        name, value = (part.strip() for part in line.split(":", 1))
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value), f"secret with a default: {line}"


def test_each_service_uses_its_own_influx_account_made_before_it_starts(
        services: dict[str, Any]) -> None:
    """Only the one-shot `iotgw provision influx` holds the InfluxDB admin's password; every
    service that uses InfluxDB waits for it to have made the accounts, and holds only its own."""
    accounts = {"ingest-1": "INGEST", "ingest-2": "INGEST", "rollup": "ROLLUP", "api": "API",
                "grafana": "READ"}
    assert services["influx-accounts"]["command"][:2] == ["provision", "influx"]
    for name, service in services.items():
        env = service.get("environment") or {}
        if name not in ("influx-accounts", "influxdb"):
            assert "INFLUXDB_ADMIN_PASSWORD" not in env, name
        if name in accounts:
            passwords = {k for k in env if k.startswith(("IOTGW_INFLUX_", "INFLUXDB_")) and SECRET.search(k)}
            assert passwords == {f"IOTGW_INFLUX_{accounts[name]}_PASSWORD" if name != "grafana"
                                 else "INFLUXDB_READ_USER_PASSWORD"}, name
            assert service["depends_on"]["influx-accounts"]["condition"] == "service_completed_successfully"


def test_replicas_share_the_subscription_with_stable_distinct_ids(services: dict[str, Any]) -> None:
    ids = [services[n]["environment"]["IOTGW_INGEST_CLIENT_ID"] for n in ("ingest-1", "ingest-2")]
    # In the services' namespace, which `iotgw provision gateway` refuses for gateway ids.
    assert ids == ["iotgw-ingest-1", "iotgw-ingest-2"]


def test_each_service_config_loads_with_the_environment_compose_gives_it(
        services: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = 0
    for service in ours(services).values():
        for volume in service.get("volumes", []):  # the one-shot influx-accounts has none
            source, target = volume.split(":")[:2]
            if target.startswith("/etc/iotgw/"):
                monkeypatch.setattr(os, "environ", dict(service["environment"]))
                LOADERS[Path(target).name](Path(source))
                loaded += 1
    assert loaded == 4


def test_broker_and_database_run_the_files_the_tests_run(
        services: dict[str, Any], broker_dir: Path) -> None:
    mounts = {v.split(":")[1]: Path(v.split(":")[0]) for name in ("mosquitto", "influxdb")
              for v in services[name]["volumes"]}
    assert mounts["/mosquitto/config/mosquitto.conf"] == DEPLOY / "mosquitto" / "mosquitto.conf"
    assert mounts["/etc/influxdb/influxdb.conf"] == DEPLOY / "influxdb" / "influxdb.conf"
    # The broker's files are mounted as their directory: `iotgw provision` renames new files
    # over old ones, which a file mount would hide from the broker.
    assert mounts["/mosquitto/broker"] == ROOT / "broker"
    # The paths the broker's configuration names are mounted, and each file in broker/ is
    # one that `iotgw provision init` writes.
    conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
    named = re.findall(r"^(?:cafile|certfile|keyfile|crlfile|password_file|acl_file"
                       r"|persistence_location) (\S+)", conf, flags=re.M)
    assert len(named) == 8
    for path in named:
        assert any(path.startswith(target) for target in mounts), f"{path} is not mounted"
        if path.startswith("/mosquitto/broker/"):
            written = broker_dir / path.removeprefix("/mosquitto/broker/")
            assert written.is_file(), f"{path}: provision init wrote no {written}"


def test_no_health_check_or_broker_carries_a_secret(services: dict[str, Any]) -> None:
    """A health check's command line is visible to every process of its container (and to
    `docker inspect`): none names a secret; the broker's container holds none at all."""
    for name, service in long_running(services).items():
        command = " ".join(service["healthcheck"]["test"][1:])
        assert not SECRET.search(command), f"{name}'s health check: {command}"
        assert not re.search(r"(^|\s)(-P|-u|--pw|--username)\s", command), command
    assert not services["mosquitto"].get("environment")


@pytest.mark.integration
def test_the_broker_health_check_tells_a_serving_broker_from_a_missing_one(
        services: dict[str, Any], broker_dir: Path, tmp_path: Path) -> None:
    """The check as compose runs it, on the real broker as deployed (this machine's
    mosquitto_sub is 2.0.11, the image's 2.0.18: both exit with the CONNACK's reason)."""
    shell = services["mosquitto"]["healthcheck"]["test"]
    assert shell[0] == "CMD-SHELL"
    broker = Mosquitto(tmp_path / "mosquitto", auth_dir=broker_dir, tls_dir=broker_dir / "tls")
    broker.start()
    try:
        # `docker-compose config` prints $$ as written; the engine hands the shell one $.
        check = shell[1].replace("$$", "$").replace("-h localhost -p 1883",
                                                    f"-h 127.0.0.1 -p {broker.port}")
        assert "-p 1883" not in check
        serving = subprocess.run(["sh", "-c", check], capture_output=True, timeout=30)
    finally:
        broker.stop()
    missing = subprocess.run(["sh", "-c", check], capture_output=True, timeout=30)
    assert (serving.returncode, missing.returncode != 0) == (0, True), (serving, missing)


def test_only_the_gateways_port_is_public(services: dict[str, Any]) -> None:
    """Compose prints a port on every address as a mapping, one on an address as a string."""
    public = {name: [p for p in s.get("ports", []) if not str(p).startswith("127.0.0.1:")]
              for name, s in services.items()}
    assert {name: ports for name, ports in public.items() if ports} == {
        "mosquitto": [{"published": 8883, "target": 8883}]}


def test_images_are_pinned(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service["image"]
        assert re.search(r":\d+\.\d+\.\d+$", image), f"{name}: {image} is not pinned to a version"


def test_dockerfile_is_multi_stage_non_root_and_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, flags=re.M)
    assert len(stages) >= 2 and all(re.search(r":\d+\.\d+\.\d+-slim", s) for s in stages)
    final = text[text.rindex("\nFROM "):]
    user = re.findall(r"^USER (\S+)", final, flags=re.M)
    assert user and user[-1].split(":")[0] not in ("root", "0")
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    wanted = {"iotgw", *setuptools["package-dir"].values()}
    copied = set(re.findall(r"^COPY (\w+) \1$", text, flags=re.M))
    assert copied == {*wanted, "constraints"}
    # Installed at the pinned versions, with the server's extra (the image runs the server).
    assert re.search(r"pip install -c constraints/server\.txt '\.\[server\]'", text)
