"""The FastAPI application: ``/v1`` endpoints, ``/healthz`` and the dashboard at ``/``.

Roles (tokens in the registry, see ``api.auth``): ``ministry`` reads every province,
``province`` reads its own, ``operator`` administers the registry. Every authenticated
request is counted as platform use of the token's organisation. Open environmental data
needs no token.

``create_app`` only assembles: it builds the clients and caches the routes share, keeps
them on ``app.state`` (read by ``api.deps``), and includes the routers of ``api.routes``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from iotgw.api.auth import Authenticator
from iotgw.api.cache import ViewCache
from iotgw.api.config import ApiConfig
from iotgw.api.rate_limits import install as install_rate_limits
from iotgw.api.routes import api_router, mount_dashboard
from iotgw.api.security_headers import SecurityHeaders
from iotgw.api.usage import UsageLog
from iotgw.registry import make_engine, session_factory
from iotgw.rollup.catalogue import Catalogue, load_catalogue
from iotgw.tsdb import TsdbError
from iotgw.tsdb.schema import create_storage

log = logging.getLogger(__name__)


def create_app(settings: ApiConfig, catalogue: Catalogue | None = None) -> FastAPI:
    """The API and dashboard for ``settings``, with the indicator ``catalogue`` (the
    packaged one by default). Nothing connects until the app starts."""
    influx = settings.influx.client()
    sessions = session_factory(make_engine(settings.registry.url, must_exist=True))
    usage = UsageLog(influx, settings.influx.database, settings.usage_flush_s)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:  # before the first rollup, indicator queries would fail on a missing policy
            create_storage(influx, settings.influx.database, raw_retention=settings.influx.raw_retention)
        except TsdbError as exc:
            log.warning("InfluxDB not ready at start (%s): queries fail until it is", exc)
        usage.start()
        yield
        usage.stop()
        influx.close()

    app = FastAPI(title="iotgw API", version="1", lifespan=lifespan,
                  description="Coverage, indicators against the provincial plans' targets, "
                              "reports and registry administration.")
    app.state.settings = settings
    app.state.influx = influx
    app.state.sessions = sessions
    app.state.catalogue = catalogue or load_catalogue()
    app.state.usage = usage
    app.state.views = ViewCache(settings.cache_s)
    app.state.authenticator = Authenticator(sessions, settings.token_cache_s)
    app.include_router(api_router)
    install_rate_limits(app, settings)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: a 429 carries them too
    mount_dashboard(app)
    return app
