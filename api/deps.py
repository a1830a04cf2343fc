"""The dependencies routes declare (``Annotated``, as in the FastAPI template): the
caller's principal, a registry session, the InfluxDB client, settings, the catalogue and
the view cache. Everything is read from ``app.state``, set by ``create_app``.

The dependencies that only read ``app.state`` are ``async``: FastAPI runs a sync
dependency in the thread pool, and the cached views answer without a trip through it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from iotgw.api.auth import Principal
from iotgw.api.cache import ViewCache
from iotgw.api.config import ApiConfig
from iotgw.rollup.catalogue import Catalogue
from iotgw.tsdb import InfluxClient
from sqlalchemy.orm import Session, sessionmaker


def _state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that reads ``app.state.<name>`` (its type is the ``Annotated`` one below)."""
    async def read(request: Request) -> Any:
        return getattr(request.app.state, name)
    return read


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


async def get_principal(request: Request) -> Principal:
    """The token's principal (401 without a valid one); the request counts as platform
    use of the token's organisation."""
    who: Principal = await request.app.state.authenticator(request)
    request.app.state.usage.record(who.organisation, who.token_id)
    return who


SettingsDep = Annotated[ApiConfig, Depends(_state("settings"))]
InfluxDep = Annotated[InfluxClient, Depends(_state("influx"))]
CatalogueDep = Annotated[Catalogue, Depends(_state("catalogue"))]
ViewsDep = Annotated[ViewCache, Depends(_state("views"))]
# The registry's session factory, for an endpoint that owns its transaction.
SessionsDep = Annotated[sessionmaker[Session], Depends(_state("sessions"))]
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
# Closed when the endpoint returns, before its response is validated in another trip
# through the thread pool; authentication has its own short session (``Authenticator``).
# A registry connection held from authentication to the response, across trips through
# the thread pool, let 50 clients hold all 15 pooled connections while every pool thread
# waited for one (30 s pool time-outs and nothing answered; bench/api_latency.py).
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
