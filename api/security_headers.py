"""Security headers on every HTTP response: API answers, the dashboard's files and errors.

A pure ASGI middleware (not ``BaseHTTPMiddleware``): it adds headers as the response
starts, so streamed bodies carry them too, and it costs no extra task per request. An
unhandled exception would otherwise be answered by Starlette's outermost
``ServerErrorMiddleware``, outside this one and without the headers: so this middleware
answers the 500 itself (the exception still propagates, to be logged).

- ``Content-Security-Policy``: the dashboard loads scripts, styles and data only from the
  API's own origin and runs no inline script; no page may be framed (``frame-ancestors``).
  The OpenAPI pages (``/docs``, ``/redoc``) are FastAPI's: they load Swagger UI / ReDoc
  from cdn.jsdelivr.net and start it with an inline script, so they get a policy that
  allows exactly that, and no framing either.
- ``X-Frame-Options: DENY`` for browsers that ignore ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a CSV or JSON body is never run as a script.
- ``Referrer-Policy: no-referrer``: no address of ours leaves in a ``Referer``.
"""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
          "frame-ancestors 'none'")
CDN = "https://cdn.jsdelivr.net"
DOCS_POLICY = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {CDN}; "
               f"style-src 'self' 'unsafe-inline' {CDN}; img-src 'self' data: {CDN} "
               "https://fastapi.tiangolo.com; worker-src 'self' blob:; object-src 'none'; "
               "base-uri 'none'; frame-ancestors 'none'")
DOCS_PATHS = frozenset({"/docs", "/redoc"})
COMMON = ((b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
          (b"referrer-policy", b"no-referrer"))


class SecurityHeaders:
    """Wraps the application; headers the application set itself are replaced."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_POLICY if scope["path"] in DOCS_PATHS else POLICY
        added = ((b"content-security-policy", policy.encode()), *COMMON)
        names = {name for name, _ in added}
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": [*kept, *added]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", 500)(scope, receive, send_with_headers)
            raise
