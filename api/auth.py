"""API tokens and roles. A token is 32 random bytes shown once; the registry keeps its
SHA-256. ``Authorization: Bearer <token>``: none or unknown -> 401, a role or province
that may not see what is asked -> 403."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

import cachetools
from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from iotgw.registry import ApiRole, ApiToken, find_token
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    role: ApiRole
    province: int | None  # for the province role
    organisation: str | None  # whose platform use the requests count as

    def may_read(self, province: int) -> bool:
        return self.role is not ApiRole.PROVINCE or self.province == province

    def may_read_households(self, province: int) -> bool:
        """A household's meter readings are personal data: only its own province's
        administrators read them; everyone else sees households only in aggregates large
        enough to hide one (``iotgw.api.privacy``)."""
        return self.role is ApiRole.PROVINCE and self.province == province

    def check_read(self, province: int) -> None:
        if not self.may_read(province):
            raise HTTPException(403, f"this token is for province {self.province}, not {province}")

    def check_role(self, *roles: ApiRole) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"role {self.role.value} may not do this (needs {allowed})")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, token_id: str, role: ApiRole, *, province: int | None = None,
                 organisation: str | None = None) -> str:
    """Store a new token's hash; returns the token (the only time it is seen)."""
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(id=token_id, token_hash=_hash(token), role=role, province_code=province,
                         organisation_id=organisation, created_at=dt.datetime.now(dt.UTC)))
    session.flush()
    return token


class Authenticator:
    """Bearer token -> Principal, remembered for ``ttl_s``: a request that finds its token
    remembered costs no registry query and no trip through the thread pool (the coverage
    and indicator endpoints answer from their cache on the event loop). The price: a token
    revoked in the registry keeps working for up to ``ttl_s``. Unknown tokens are looked up
    every time, so a new token works at once."""

    def __init__(self, sessions: sessionmaker[Session], ttl_s: float) -> None:
        self._sessions = sessions
        self._known: cachetools.TTLCache[str, Principal] = cachetools.TTLCache(
            maxsize=10_000, ttl=ttl_s or 1e-9)

    async def __call__(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "an API token is required: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        digest = _hash(token.strip())
        who = self._known.get(digest)
        if who is None:
            who = await run_in_threadpool(self._lookup, digest)
            self._known[digest] = who
        return who

    def _lookup(self, digest: str) -> Principal:
        with self._sessions() as session:
            row = find_token(session, digest)
        if row is None or row.revoked_at is not None:
            raise HTTPException(401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        return Principal(row.id, row.role, row.province_code, row.organisation_id)
