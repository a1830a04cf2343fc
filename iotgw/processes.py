"""Mosquitto and influxd as child processes on free loopback ports, for tests and the demo.

Each instance gets its own working directory (config, data, logs) and is configured from
the same files a deployment mounts (``deploy/``): only listen addresses, data paths and
the paths of the broker's credentials are changed. Processes can be stopped gracefully,
killed with SIGKILL, and restarted on the same port and data, which is how the fault
tests simulate crashes.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from iotgw.devices import url_host
from iotgw.options import DEPLOY


class ServiceError(RuntimeError):
    """A local service could not be found, started or reached in time."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _which(name: str, *extra_dirs: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), *extra_dirs]))
    if path is None:
        raise ServiceError(f"{name} not found: run `make test` or `make demo`, which install it")
    return path


class LocalService:
    """A child process with a readiness probe, restartable on the same port and data."""

    name = "service"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def ready(self) -> bool:
        raise NotImplementedError

    def popen_user(self) -> str | None:
        """The user to run the process as, when it must not run as the caller."""
        return None

    def start(self, *, timeout_s: float = 30.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            raise ServiceError(f"{self.name} already running (pid {self.proc.pid})")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env=self.environment(), start_new_session=True, user=self.popen_user(),
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.05)
        self.kill()
        raise ServiceError(f"{self.name} not ready on port {self.port} after {timeout_s}s: "
                           f"{self.log_tail()}")

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to flush or say goodbye."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.kill()
        self.proc.wait(10)

    def restart(self, *, kill: bool = False) -> None:
        self.kill() if kill else self.stop()
        self.start()

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Mosquitto(LocalService):
    """The deployment's Mosquitto (``deploy/mosquitto/mosquitto.conf``), three ways:

    - without ``auth_dir``: anyone may connect, for tests and the demo that are not about
      access control;
    - with ``auth_dir`` and ``tls_dir``: as deployed. The plain listener (``port``) takes
      the central services' accounts only (``services.passwd``, ``services.acl``), the
      mutual-TLS listener (``tls_port``) gateways' certificates, with the account and the
      client id taken from the certificate (``gateways.acl``, ``tls/ca.crl``);
    - with ``auth_dir`` alone: a lab broker, one plain listener where every account logs
      in with its password (``passwd``, ``acl``), for bundles made with ``--no-cert``.
      Nothing ties a client id to an account there.

    The files are those ``iotgw provision`` writes in its broker directory.
    """

    name = "mosquitto"

    def __init__(
        self, workdir: Path, port: int | None = None, *, auth_dir: Path | None = None,
        tls_dir: Path | None = None, host: str = "127.0.0.1",
    ) -> None:
        super().__init__(workdir, port)
        self.host = host  # the address it listens on (a test network's, ::1 ...)
        self.auth_dir = auth_dir
        self.tls_dir = tls_dir  # ca.crt, ca.crl, broker.crt, broker.key: the mTLS listener
        self.tls_port = free_port() if tls_dir else None

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads its password and ACL files, and the CRL, again."""
        assert self.proc is not None and self.proc.poll() is None, "mosquitto is not running"
        self.proc.send_signal(signal.SIGHUP)

    def command(self) -> list[str]:
        conf = (DEPLOY / "mosquitto" / "mosquitto.conf").read_text()
        deployed = "/mosquitto/broker"  # where the compose deployment mounts broker/
        if self.tls_dir is None:
            conf = re.sub(r"^# BEGIN tls.*?^# END tls\n", "", conf, flags=re.M | re.S)
        else:
            conf = re.sub(r"^listener 8883$", f"listener {self.tls_port} 127.0.0.1", conf,
                          flags=re.M)
            conf = conf.replace(f"{deployed}/tls/", f"{self.tls_dir}/")
        if self.auth_dir is None:
            conf = re.sub(r"^allow_anonymous .*$", "allow_anonymous true", conf, flags=re.M)
            conf = re.sub(r"^(password_file|acl_file) .*\n", "", conf, flags=re.M)
        else:
            if self.tls_dir is None:  # the lab broker: every account on the plain listener
                conf = re.sub(r"/services\.(passwd|acl)$", r"/\1", conf, flags=re.M)
            conf = conf.replace(f"{deployed}/", f"{self.auth_dir}/")
        conf = re.sub(r"^listener 1883$", f"listener {self.port} {self.host}", conf, flags=re.M)
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        conf = re.sub(r"^persistence_location .*$", f"persistence_location {data}/", conf,
                      flags=re.M)
        # Started as root, Mosquitto switches to the `mosquitto` user, which cannot write
        # into a private working directory: its persistence (sessions, subscriptions,
        # queued messages) would silently fail. A local broker runs as whoever started it.
        conf += f"\nuser {getpass.getuser()}\n"
        conf_path = self.workdir / "mosquitto.conf"
        conf_path.write_text(conf)
        return [_which("mosquitto", "/usr/sbin"), "-c", str(conf_path)]

    def ready(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False


class Influxd(LocalService):
    name = "influxd"

    @property
    def url(self) -> str:
        return f"http://{self._address}"

    @property
    def _address(self) -> str:
        return f"{url_host(self.host)}:{self.port}"

    def __init__(self, workdir: Path, port: int | None = None, *, host: str = "127.0.0.1",
                 auth: bool = False) -> None:
        super().__init__(workdir, port)
        self.host = host  # the address its HTTP API listens on (::1 for IPv6 tests)
        self.auth = auth  # [http] auth-enabled, as the compose deployment runs it
        self.rpc_port = free_port()

    def command(self) -> list[str]:
        return [_which("influxd"), "-config", str(DEPLOY / "influxdb" / "influxdb.conf")]

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.update(
            INFLUXDB_META_DIR=str(self.workdir / "meta"),
            INFLUXDB_DATA_DIR=str(self.workdir / "data"),
            INFLUXDB_DATA_WAL_DIR=str(self.workdir / "wal"),
            INFLUXDB_HTTP_BIND_ADDRESS=self._address,
            INFLUXDB_BIND_ADDRESS=f"127.0.0.1:{self.rpc_port}",
        )
        if self.auth:
            env["INFLUXDB_HTTP_AUTH_ENABLED"] = "true"
        return env

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.HTTPError:
            return False


class IotgwProcess(LocalService):
    """An ``iotgw`` service (gateway agent, ingest, API) as a child process of this Python.
    Ready when ``ready_line`` is in its log and ``ready_url`` (if any) answers 200."""

    def __init__(
        self, workdir: Path, name: str, args: list[str], *, ready_line: str | None = None,
        ready_url: str | None = None,
    ) -> None:
        self.name = name
        self.args = args
        self.ready_line = ready_line
        self.ready_url = ready_url
        super().__init__(workdir, port=0)

    def command(self) -> list[str]:
        # -P: the working directory (say .demo/, which has an ingest/ folder) must not shadow packages.
        return [sys.executable, "-P", "-m", "iotgw", *self.args]

    def start(self, *, timeout_s: float = 30.0) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start(timeout_s=timeout_s)

    def ready(self) -> bool:
        if self.ready_url is not None:
            try:
                if httpx.get(self.ready_url, timeout=0.5).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
        if self.ready_line is None:
            return True
        with self.log_path.open("rb") as log:  # the log written since this start
            log.seek(self._log_offset)
            return self.ready_line.encode() in log.read()

    def wait(self, timeout_s: float) -> int:
        """Exit code, once the process has exited by itself within ``timeout_s``.

        Raises:
            ServiceError: still running at the deadline (it is then killed).
        """
        assert self.proc is not None, f"{self.name} was never started"
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServiceError(f"{self.name} still running after {timeout_s}s: "
                               f"{self.log_tail()}") from None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class Postgres(LocalService):
    """A throwaway PostgreSQL cluster (Debian's server binaries), trust auth on loopback.

    PostgreSQL refuses to run as root, so when started by root the cluster belongs to the
    ``postgres`` user, in a directory of its own outside any private temporary directory.
    """

    name = "postgres"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir, port)
        self._user = "postgres" if os.geteuid() == 0 else None
        self.data = Path(tempfile.mkdtemp(prefix="iotgw-pg-")) / "data"
        if self._user:
            shutil.chown(self.data.parent, self._user)
        self._run([self._bin("initdb"), "-D", str(self.data), "-U", "iotgw", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8"])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://iotgw@127.0.0.1:{self.port}/postgres"

    @staticmethod
    def _bin(name: str) -> str:
        found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
        if not found:
            raise ServiceError(f"PostgreSQL's {name} not found: run `make test`, which installs it")
        return str(found[-1])

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run(cmd, capture_output=True, text=True, user=self._user, timeout=120)
        if result.returncode != 0:
            raise ServiceError(f"{' '.join(cmd)} failed: {result.stderr.strip()}")

    def command(self) -> list[str]:
        return [self._bin("postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                "-p", str(self.port), "-k", str(self.data), "-c", "fsync=off"]

    def popen_user(self) -> str | None:
        return self._user

    def ready(self) -> bool:
        result = subprocess.run([self._bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                                capture_output=True, timeout=10)
        return result.returncode == 0

    def remove(self) -> None:
        shutil.rmtree(self.data.parent, ignore_errors=True)
