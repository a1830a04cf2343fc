"""What every ``iotgw`` command shares: option types, the error console and exit codes."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from iotgw.devices import ConfigError

console = Console(stderr=True)

# The deployment files (broker, database, systemd unit) the services and tests run with.
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"

EXIT_RUNTIME = 1
EXIT_CONFIG = 2  # bad configuration, arguments or input files: fix and run again

DEFAULT_REGISTRY = "sqlite:///iotgw-registry.sqlite"
RegistryUrl = Annotated[str, typer.Option(
    "--url", envvar="IOTGW_REGISTRY_URL",
    help="SQLAlchemy URL: a SQLite file, or postgresql+psycopg://... for a province.")]
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="TOML configuration file.")]


def fail(exc: Exception, code: int) -> typer.Exit:
    """Print the error for a person (no traceback) and return the exit to raise."""
    console.print(f"[red]error:[/red] {exc}", highlight=False)
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


def configure_logging(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR.")] = "INFO",
) -> None:
    """The ``--log-level`` every ``iotgw`` command takes."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # One line per HTTP request to InfluxDB drowns what matters; failures are logged by tsdb.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
