"""The ``iotgw`` command line: one group per service, each in its own module, imported only
when that command runs. ``iotgw gateway run`` on a 1 GB field gateway thus loads the agent
and none of the server's libraries, which a gateway install (``iotgw[gateway]``) lacks;
``iotgw --help`` lists every command from the table below without importing any of them."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from iotgw.options import EXIT_RUNTIME, configure_logging, fail

# name: (module, attribute: a Typer group or a command function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gateway": ("iotgw.gateway_cli", "gateway_app", "The edge agent that runs on field gateways."),
    "ingest": ("iotgw.ingest_cli", "ingest_app", "The service that stores telemetry in InfluxDB."),
    "registry": ("iotgw.registry_cli", "registry_app",
                 "Administrative units, organisations, gateways and devices."),
    "provision": ("iotgw.provision", "app", "Broker accounts, ACL and gateway configuration bundles."),
    "rollup": ("iotgw.rollup_cli", "rollup_app", "Per-device aggregates and indicator values in InfluxDB."),
    "indicators": ("iotgw.rollup_cli", "indicators_app",
                   "The indicator catalogue and the plan lines it serves."),
    "api": ("iotgw.api_cli", "api_app", "The HTTP API and dashboard for provinces and ministries."),
    "sim": ("iotgw.sim_cli", "sim_app", "Simulated fleets from province scenarios."),
    "demo": ("iotgw.demo", "demo", "The whole path on this machine, from simulated sensors to indicators."),
}
GATEWAY_ONLY = {"gateway"}  # what `iotgw[gateway]` can run; the rest needs `iotgw[server]`


class _Listed(TyperCommand):
    """A command as ``--help`` lists it: its name and help, nothing imported."""


def load(name: str) -> Any:
    """The click command of ``name``, its module imported now.

    Raises: typer.Exit (code 1) when the module needs a library this install lacks.
    """
    module, attribute, _ = COMMANDS[name]
    try:
        target = getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError as exc:
        if (exc.name or "").startswith("iotgw"):
            raise
        extra = "gateway" if name in GATEWAY_ONLY else "server"
        raise fail(RuntimeError(f"`iotgw {name}` needs {exc.name}, which this install lacks:"
                                f" pip install 'iotgw[{extra}]'"), EXIT_RUNTIME) from exc
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        single = typer.Typer()
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """Lists every command of ``COMMANDS``; imports one only to run it (or show its own help)."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS:
            return _Listed(cmd_name, help=COMMANDS[cmd_name][2])
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _Listed) and name is not None:
            command = load(name)
        return name, command, rest


app = typer.Typer(cls=LazyGroup, help="IoT data-collection gateway and indicator platform.",
                  no_args_is_help=True)
app.callback()(configure_logging)
