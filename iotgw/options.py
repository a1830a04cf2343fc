"""What every ``iotgw`` command shares: option types, the error console and exit codes."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from devices import ConfigError

console = Console(stderr=True)

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
