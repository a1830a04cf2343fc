"""What every ``iotgw`` command shares: option types, the error console and exit codes."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from importlib import metadata, resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from iotgw.devices import ConfigError

console = Console(stderr=True)



def data_dir(package: str) -> Path:
    """A data package's folder on disk. Wheels install unpacked, and these paths are handed
    to other programs (``mosquitto -c``, ``influxd -config``, systemd), so a folder it must be."""
    folder = resources.files(package)
    if not isinstance(folder, Path):
        raise RuntimeError(f"{package} is not installed as files on disk ({folder!r})")
    return folder


# The deployment files (broker, database, systemd unit) the services and tests run with: the
# data package ``iotgw.deploy`` (the repository's deploy/), so an installed wheel has them.
DEPLOY = data_dir("iotgw.deploy")

EXIT_RUNTIME = 1
EXIT_CONFIG = 2  # bad configuration, arguments or input files: fix and run again

DEFAULT_REGISTRY = "sqlite:///iotgw-registry.sqlite"
RegistryUrl = Annotated[str, typer.Option(
    "--url", envvar="IOTGW_REGISTRY_URL",
    help="SQLAlchemy URL: a SQLite file, or postgresql+psycopg://... for a province.")]
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file.")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print one JSON document on stdout instead of a table (for scripts and pipes).")]


def print_json(data: Any) -> None:
    """``data`` as JSON on stdout: UTF-8 names kept readable, nothing else on stdout."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def fail(exc: Exception, code: int) -> typer.Exit:
    """Print the error for a person (no traceback) and return the exit to raise."""
    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)  # `[server]` is no markup
    return typer.Exit(code)


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set: services finish what they hold, then stop."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


T = TypeVar("T")


def load_or_exit(load: Callable[[Path], T], path: Path) -> T:
    """A config file loaded, or its errors printed and exit code 2."""
    try:
        return load(path)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _print_version(show: bool) -> None:
    if show:
        print(f"iotgw {metadata.version('iotgw')}")
        raise typer.Exit()


def configure_logging(
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True, metavar="", show_default=False,
        help="More log lines: -v for DEBUG.")] = 0,
    quiet: Annotated[int, typer.Option(
        "--quiet", "-q", count=True, metavar="", show_default=False,
        help="Fewer log lines: -q for WARNING, -qq for ERROR.")] = 0,
    log_level: Annotated[str, typer.Option(
        envvar="IOTGW_LOG_LEVEL", help="Starting level, before -v/-q: DEBUG, INFO, WARNING or ERROR.",
    )] = "INFO",
    version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="Print the version and exit.")] = False,
) -> None:
    """The logging options every ``iotgw`` command takes (before the command's name)."""
    if log_level.upper() not in LEVELS:
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    index = min(max(LEVELS.index(log_level.upper()) + quiet - verbose, 0), len(LEVELS) - 1)
    level = logging.getLevelName(LEVELS[index])
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request to InfluxDB drowns what matters; failures are logged by tsdb.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
