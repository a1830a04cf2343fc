"""The dependencies routes declare (``Annotated``, as in the FastAPI template): the
caller's principal, a registry session, the InfluxDB client, settings, the catalogue and
the view cache. Everything is read from ``app.state``, set by ``create_app``.

The dependencies that only read ``app.state`` are ``async``: FastAPI runs a sync
dependency in the thread pool, and the cached views answer without a trip through it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal
from api.cache import ViewCache
from api.config import ApiConfig
from rollup.catalogue import Catalogue
from tsdb import InfluxClient


async def get_settings(request: Request) -> ApiConfig:
    settings: ApiConfig = request.app.state.settings
    return settings


async def get_influx(request: Request) -> InfluxClient:
    influx: InfluxClient = request.app.state.influx
    return influx


async def get_catalogue(request: Request) -> Catalogue:
    catalogue: Catalogue = request.app.state.catalogue
    return catalogue


async def get_views(request: Request) -> ViewCache:
    views: ViewCache = request.app.state.views
    return views


async def get_sessions(request: Request) -> sessionmaker[Session]:
    """The registry's session factory, for an endpoint that owns its transaction."""
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


async def get_principal(request: Request) -> Principal:
    """The token's principal (401 without a valid one); the request counts as platform
    use of the token's organisation."""
    who: Principal = await request.app.state.authenticator(request)
    request.app.state.usage.record(who.organisation, who.token_id)
    return who


SettingsDep = Annotated[ApiConfig, Depends(get_settings)]
InfluxDep = Annotated[InfluxClient, Depends(get_influx)]
CatalogueDep = Annotated[Catalogue, Depends(get_catalogue)]
ViewsDep = Annotated[ViewCache, Depends(get_views)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
# Closed when the endpoint returns, before its response is validated in another trip
# through the thread pool; authentication has its own short session (``Authenticator``).
# A registry connection held from authentication to the response, across trips through
# the thread pool, let 50 clients hold all 15 pooled connections while every pool thread
# waited for one (30 s pool time-outs and nothing answered; bench/api_latency.py).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
