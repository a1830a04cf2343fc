"""What every ``iotgw`` command does alike: version, log verbosity, JSON for lists, clean
help, and a gateway that loads none of the server's libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from iotgw.cli import COMMANDS, app, load
from tests.iotgw.test_cli import iotgw

# The server's libraries: a gateway install (`iotgw[gateway]`) does not have them.
SERVER_ONLY = ("fastapi", "sqlalchemy", "openpyxl", "uvicorn", "alembic", "psycopg", "cryptography",
               "httpx", "starlette", "vietnam_provinces", "prometheus_client", "slowapi", "cachetools")

GATEWAY_ENTRY = """
import json, sys
from iotgw.__main__ import main
sys.argv = ["iotgw", "gateway", "run", "--help"]
try:
    main()
except SystemExit as exc:
    assert exc.code == 0, exc.code
import iotgw.gateway.service, iotgw.gateway_cli
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_the_gateway_entry_loads_no_server_library() -> None:
    result = subprocess.run([sys.executable, "-P", "-c", GATEWAY_ENTRY], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert {"paho", "pydantic", "typer"} <= loaded  # it did load the agent
    assert loaded.isdisjoint(SERVER_ONLY), sorted(loaded.intersection(SERVER_ONLY))


def test_version() -> None:
    from importlib.metadata import version

    result = iotgw("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"iotgw {version('iotgw')}\n"


@pytest.mark.parametrize(("args", "env", "level"), [
    ((), {}, "INFO"), (("-v",), {}, "DEBUG"), (("-q",), {}, "WARNING"), (("-qq",), {}, "ERROR"),
    (("--log-level", "ERROR"), {}, "ERROR"), ((), {"IOTGW_LOG_LEVEL": "warning"}, "WARNING"),
    (("-v",), {"IOTGW_LOG_LEVEL": "ERROR"}, "WARNING"),
])
def test_verbosity(args: tuple[str, ...], env: dict[str, str], level: str) -> None:
    import logging

    root = logging.getLogger()
    handlers, before = root.handlers[:], root.level
    root.handlers = []  # basicConfig configures only a root logger without handlers
    try:
        ran = CliRunner().invoke(app, [*args, "sim", "--help"], env=env)
        assert ran.exit_code == 0, ran.output
        assert logging.getLevelName(root.level) == level
    finally:
        root.handlers, root.level = handlers, before


def test_a_bad_level_from_the_environment_is_a_usage_error() -> None:
    ran = CliRunner().invoke(app, ["sim", "--help"], env={"IOTGW_LOG_LEVEL": "LOUD"})
    assert ran.exit_code == 2
    assert "unknown log level 'LOUD'" in ran.output


@pytest.mark.parametrize("args", [("sim", "list", "--json"), ("indicators", "list", "--json")])
def test_lists_print_json_alone_on_stdout(args: tuple[str, ...]) -> None:
    result = iotgw(*args)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all(isinstance(row, dict) for row in rows)


def _leaves(command: object, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [path]
    return [path, *(leaf for name, sub in subcommands.items() for leaf in _leaves(sub, (*path, name)))]


def test_no_help_page_shows_a_type_placeholder_on_a_flag() -> None:
    pages = [leaf for name in COMMANDS for leaf in _leaves(load(name), (name,))]
    assert len(pages) > 20
    for page in [(), *pages]:
        ran = CliRunner().invoke(app, [*page, "--help"], terminal_width=200)
        assert ran.exit_code == 0, (page, ran.output)
        assert "<bool>" not in ran.output and "BOOLEAN" not in ran.output, page
