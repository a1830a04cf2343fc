"""``iotgw api``: run the API and dashboard; make and revoke API tokens."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.exc import IntegrityError

from iotgw.api import create_app, load_api_config
from iotgw.api.auth import create_token
from iotgw.devices import url_host
from iotgw.options import (
    DEFAULT_REGISTRY,
    EXIT_CONFIG,
    ConfigOption,
    RegistryUrl,
    console,
    fail,
    load_or_exit,
)
from iotgw.registry import ApiRole, ApiToken, make_engine, session_factory

api_app = typer.Typer(help="The HTTP API and dashboard for provinces and ministries.",
                      no_args_is_help=True)
token_app = typer.Typer(help="API tokens (stored hashed in the registry).", no_args_is_help=True)
api_app.add_typer(token_app, name="token")


@api_app.command("run")
def api_run(config: ConfigOption) -> None:
    """Serve /v1, /healthz and the dashboard at / (Ctrl-C stops)."""
    cfg = load_or_exit(load_api_config, config)
    host = url_host(cfg.host)
    console.print(f"dashboard: http://{host}:{cfg.port}/  API: http://{host}:{cfg.port}/docs")
    uvicorn.run(create_app(cfg), host=cfg.host, port=cfg.port, log_level="warning")


@token_app.command("create")
def token_create(
    token_id: Annotated[str, typer.Argument(help="A name for the token, e.g. dong-thap-skhcn.")],
    role: Annotated[ApiRole, typer.Option(help="ministry, province, operator or organisation.")],
    province: Annotated[int | None, typer.Option(help="Required for the province role.")] = None,
    organisation: Annotated[str | None, typer.Option(
        help="The registry organisation whose platform use its requests count as; required"
             " for --role organisation (a farm, SME...: it reads its own devices only).")] = None,
    url: RegistryUrl = DEFAULT_REGISTRY,
) -> None:
    """Make a token and print it once (only its hash is kept)."""
    if (role is ApiRole.PROVINCE) != (province is not None):
        raise fail(ValueError("--province is required by, and only by, --role province"), EXIT_CONFIG)
    if role is ApiRole.ORGANISATION and organisation is None:
        raise fail(ValueError("--role organisation needs --organisation ID: the organisation whose"
                              " devices it reads"), EXIT_CONFIG)
    try:
        with session_factory(make_engine(url))() as session, session.begin():
            token = create_token(session, token_id, role, province=province, organisation=organisation)
    except IntegrityError as exc:  # a name taken, or an unknown province or organisation
        raise fail(ValueError(f"cannot create token {token_id!r}: {str(exc.orig).splitlines()[0]}"),
                   EXIT_CONFIG) from exc
    print(token)


@token_app.command("revoke")
def token_revoke(token_id: str, url: RegistryUrl = DEFAULT_REGISTRY) -> None:
    """Refuse a token from now on."""
    with session_factory(make_engine(url))() as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None:
            raise fail(ValueError(f"no token {token_id!r}"), EXIT_CONFIG)
        row.revoked_at = dt.datetime.now(dt.UTC)
    console.print(f"token {token_id} revoked")
