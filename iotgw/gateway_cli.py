"""``iotgw gateway``: the edge agent's commands. Kept apart, with only what the agent
needs imported, so that ``iotgw gateway run`` on a 1 GB field gateway loads the agent and
not the API, the rollup or the registry (``iotgw/cli.py`` imports this module alone for it)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from iotgw.devices import ConfigError
from iotgw.gateway import Agent, GatewayConfig, GatewayError, build_sources, load_gateway_config
from iotgw.gateway.pipeline import Source
from iotgw.gateway.readout import as_json, read_once, table_rows
from iotgw.options import (
    DEPLOY,
    EXIT_CONFIG,
    EXIT_RUNTIME,
    ConfigOption,
    JsonOption,
    console,
    fail,
    print_json,
    stop_on_signals,
)

gateway_app = typer.Typer(help="The edge agent that runs on field gateways.", no_args_is_help=True)


@gateway_app.command("run")
def gateway_run(
    config: ConfigOption,
    exit_when_drained: Annotated[bool, typer.Option(
        help="Exit once every finite (simulated) source is done and the broker has every reading."
    )] = False,
) -> None:
    """Poll the configured devices and publish their readings, buffering durably."""
    def load() -> tuple[GatewayConfig, list[Source]]:
        cfg = load_gateway_config(config)
        return cfg, build_sources(cfg.devices)

    try:
        agent = Agent(*load(), reloader=load)  # the reload command reads the file again
    except (ConfigError, GatewayError) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    try:
        agent.run(stop_on_signals(), exit_when_drained=exit_when_drained)
    except GatewayError as exc:
        raise fail(exc, EXIT_RUNTIME) from exc


@gateway_app.command("install")
def gateway_install(
    config: ConfigOption,
    unit_dir: Annotated[Path, typer.Option(
        help="Where systemd looks for units.")] = Path("/etc/systemd/system"),
) -> None:
    """Validate the configuration and put the systemd unit in place (deploy/systemd/): the
    agent then runs as user iotgw, restarts always, and writes only under /var/lib/iotgw."""
    try:
        cfg = load_gateway_config(config)
        build_sources(cfg.devices)
    except (ConfigError, GatewayError) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    state = Path("/var/lib/iotgw")
    if state not in cfg.buffer.path.resolve().parents:
        console.print(f"[yellow]note:[/yellow] the buffer {cfg.buffer.path} is outside {state}, "
                      "the only directory the service may write")
    unit = (DEPLOY / "systemd" / "iotgw-gateway.service").read_text()
    unit = unit.replace("@IOTGW@", f"{sys.executable} -P -m iotgw").replace("@CONFIG@", str(config.resolve()))
    target = unit_dir / "iotgw-gateway.service"
    try:
        unit_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(unit)
    except OSError as exc:
        raise fail(RuntimeError(f"cannot write {target}: {exc.strerror} (run as root)"),
                   EXIT_RUNTIME) from exc
    console.print(f"installed {target}\nnext, as root:\n"
                  "  id iotgw || useradd --system --home /var/lib/iotgw --shell /usr/sbin/nologin iotgw\n"
                  "  systemctl daemon-reload && systemctl enable --now iotgw-gateway")


@gateway_app.command("check-config")
def gateway_check_config(config: ConfigOption) -> None:
    """Validate a gateway configuration file without running anything."""
    try:
        cfg = load_gateway_config(config)
        build_sources(cfg.devices)
    except (ConfigError, GatewayError) as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    console.print(f"{config}: ok ({len(cfg.devices)} devices)")


@gateway_app.command("test")
def gateway_test(
    config: ConfigOption,
    device: Annotated[list[str] | None, typer.Option(
        "--device", help="Only this device (repeat for more).")] = None,
    wait_s: Annotated[float, typer.Option(
        "--wait", min=0, help="Seconds to wait for a pushed device (MQTT node) to send.")] = 5.0,
    json_out: JsonOption = False,
) -> None:
    """Read every configured device once and print the values, like `telegraf --test`:
    nothing is buffered or published. Exit code 1 when a read failed."""
    try:
        cfg = load_gateway_config(config)
    except ConfigError as exc:
        raise fail(exc, EXIT_CONFIG) from exc
    chosen = [d for d in cfg.devices if device is None or d.id in device]
    if missing := sorted(set(device or ()) - {d.id for d in cfg.devices}):
        raise fail(ValueError(f"--device: no device {', '.join(missing)} in {config};"
                              f" known: {', '.join(d.id for d in cfg.devices)}"), EXIT_CONFIG)
    results = read_once(chosen, wait_s=wait_s)
    if json_out:
        print_json(as_json(results))
    else:
        table = Table("device", "quantity", "value", "unit", "quality", "error")
        for row in table_rows(results):
            table.add_row(*row)
        Console().print(table)  # stdout, as the other commands' tables
    if not all(result.ok for result in results):
        raise typer.Exit(EXIT_RUNTIME)
