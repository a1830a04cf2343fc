"""Computed views (coverage, indicator values) kept as their JSON for ``cache_s``.

A view is computed at most once per ``cache_s``: requests for a view being computed wait
for it (a condition) rather than compute it too (50 clients asking for an uncached
coverage at once computed 50 copies), and a cached one is answered on the event loop
without a trip through the thread pool or serialising it again (bench/api_latency.py).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable

import cachetools
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel

ViewKey = tuple[Hashable, ...]


class ViewCache:
    """JSON bodies of computed views by key, each computed once per ``ttl_s``."""

    def __init__(self, ttl_s: float, *, maxsize: int = 4096) -> None:
        # A TTL of 0 would make cachetools refuse; a nanosecond keeps nothing.
        self._cache: cachetools.TTLCache[ViewKey, bytes] = cachetools.TTLCache(
            maxsize=maxsize, ttl=ttl_s or 1e-9)
        self._computing = threading.Condition()
        self._compute_once = cachetools.cached(
            self._cache, key=lambda key, _compute: key, condition=self._computing)(_encode)

    async def response(self, key: ViewKey, compute: Callable[[], BaseModel]) -> Response:
        """The view under ``key`` as a JSON response, computed in the thread pool when it
        is not cached (a second asker of the same key waits for that computation)."""
        with self._computing:
            body = self._cache.get(key)
        if body is None:
            body = await run_in_threadpool(self._compute_once, key, compute)
        return Response(body, media_type="application/json")


def _encode(_key: ViewKey, compute: Callable[[], BaseModel]) -> bytes:
    return json.dumps(jsonable_encoder(compute()), ensure_ascii=False).encode()
