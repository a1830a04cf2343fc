"""The API served by a real uvicorn server on a free port, in a thread of the test: for
tests that need HTTP from outside the app (concurrent clients, a fuzzer's requests)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from iotgw.processes import free_port


@contextmanager
def serving(app: FastAPI, *, timeout_s: float = 20.0) -> Iterator[str]:
    """``app`` at the yielded base URL until the block ends (lifespan included).

    Raises:
        TimeoutError: the server did not answer ``/healthz`` within ``timeout_s``.
    """
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while not _healthy(url):
            if time.monotonic() > deadline or not thread.is_alive():
                raise TimeoutError(f"the API did not start at {url} within {timeout_s} s")
            time.sleep(0.1)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
