"""The dashboard: static files served at ``/`` (plain JavaScript, no CDN).

A mount, not a router (``include_router`` carries routes, not mounts), so it is added
to the app itself, after every router: ``/`` matches every path."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent.parent / "static"


def mount_dashboard(app: FastAPI) -> None:
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="dashboard")
