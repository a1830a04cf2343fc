"""The ``iotgw`` command line: one group per service, each in its own module."""

from __future__ import annotations

import typer

from iotgw.api_cli import api_app
from iotgw.demo import demo
from iotgw.gateway_cli import gateway_app
from iotgw.ingest_cli import ingest_app
from iotgw.options import configure_logging
from iotgw.provision import app as provision_app
from iotgw.registry_cli import registry_app
from iotgw.rollup_cli import indicators_app, rollup_app
from iotgw.sim_cli import sim_app

app = typer.Typer(help="IoT data-collection gateway and indicator platform.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(ingest_app, name="ingest")
app.add_typer(registry_app, name="registry")
app.add_typer(provision_app, name="provision")
app.add_typer(rollup_app, name="rollup")
app.add_typer(indicators_app, name="indicators")
app.add_typer(api_app, name="api")
app.add_typer(sim_app, name="sim")
app.callback()(configure_logging)
app.command("demo")(demo)
