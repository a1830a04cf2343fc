"""Per-caller rate limits: one token, or one address without a token, may not take the
service from everyone else.

Two budgets, each one bucket across every route it covers: ``ApiConfig.rate_limit`` per
bearer token (keyed by the token's SHA-256, so the token itself is never kept; a request
without one by its address) and ``ApiConfig.open_data_rate_limit`` per client address for
``/v1/open`` (no token needed there, so an address is all there is to count by, and a
token buys no more). ``/healthz`` is never limited: probes must see the service while a
client is throttled. Over budget: 429 with ``Retry-After`` (seconds until the moving
window admits a request again). Counts are kept in the process's memory.

The counting is slowapi's (its ``limits`` moving window and its client address), in an
ASGI middleware of our own: slowapi's middleware looks the route up among the app's
routes, finds none behind FastAPI's included routers and so limits nothing.
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from iotgw.api.config import ApiConfig
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from slowapi.util import get_remote_address
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_DATA = "/v1/open/"
UNLIMITED = frozenset({"/healthz"})


def caller_key(request: Request) -> str:
    """The bearer token's digest, or the client's address for a request without one and
    for open data (limited per address whatever it carries)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip() and not request.url.path.startswith(OPEN_DATA):
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()
    return "address:" + get_remote_address(request)


class RateLimits:
    """ASGI middleware that answers 429 to a caller over its budget."""

    def __init__(self, app: ASGIApp, *, api: str, open_data: str) -> None:
        self.app = app
        self._window = MovingWindowRateLimiter(MemoryStorage())
        self._budgets = {"api": parse_many(api) if api else [],
                         "open-data": parse_many(open_data) if open_data else []}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in UNLIMITED:
            request = Request(scope)
            budget = "open-data" if scope["path"].startswith(OPEN_DATA) else "api"
            key = caller_key(request)
            for item in self._budgets[budget]:
                if not self._window.hit(item, budget, key):
                    await self._refuse(item, budget, key)(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _refuse(self, item: RateLimitItem, budget: str, key: str) -> JSONResponse:
        reset_at, _remaining = self._window.get_window_stats(item, budget, key)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        return JSONResponse({"detail": f"rate limit exceeded: {item} per caller"}, status_code=429,
                            headers={"Retry-After": str(retry_after)})


def install(app: FastAPI, settings: ApiConfig) -> None:
    """Limit ``app``'s requests by ``settings``; an empty limit turns that budget off."""
    if settings.rate_limit or settings.open_data_rate_limit:
        app.add_middleware(RateLimits, api=settings.rate_limit, open_data=settings.open_data_rate_limit)
