"""API tokens and roles. A token is 32 random bytes shown once; the registry keeps its
SHA-256. ``Authorization: Bearer <token>``: none or unknown -> 401, a role or province
that may not see what is asked -> 403.

Roles: ``ministry`` reads every province; ``province`` reads and administers its own (and
alone reads its households' meters); ``operator`` administers the registry everywhere;
``organisation`` (a farm, SME, cooperative, factory) reads only its own devices' readings,
so that its use of the platform is counted without opening anyone else's data to it."""

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
    organisation: str | None  # whose platform use the requests count as; the organisation role's own

    def __post_init__(self) -> None:
        if self.role is ApiRole.ORGANISATION and self.organisation is None:
            raise ValueError(f"token {self.token_id!r} has the organisation role but no organisation")

    def may_read(self, province: int) -> bool:
        """Province-wide data (coverage, indicators, gateways, reports): an organisation's
        token reads none of it."""
        if self.role is ApiRole.ORGANISATION:
            return False
        return self.role is not ApiRole.PROVINCE or self.province == province

    def may_read_households(self, province: int) -> bool:
        """A household's meter readings are personal data: only its own province's
        administrators read them; everyone else sees households only in aggregates large
        enough to hide one (``iotgw.api.privacy``)."""
        return self.role is ApiRole.PROVINCE and self.province == province

    def check_read(self, province: int) -> None:
        if self.role is ApiRole.ORGANISATION:
            raise HTTPException(403, f"this token is organisation {self.organisation}'s: it reads "
                                     "its own devices only")
        if not self.may_read(province):
            raise HTTPException(403, f"this token is for province {self.province}, not {province}")

    def check_device(self, province: int | None, organisation: str | None, *, household: bool) -> None:
        """Whether this token reads a device placed (last) in ``province`` under
        ``organisation``: an organisation's token its own devices; a household's meter only
        its own province's token (or the household's own); others by province.

        Raises:
            HTTPException: 403 naming why not.
        """
        if self.role is ApiRole.ORGANISATION:
            if organisation != self.organisation:
                raise HTTPException(403, f"this token is organisation {self.organisation}'s: the "
                                         "device is not under it")
            return
        if province is not None:
            self.check_read(province)
        if household and not (province is not None and self.may_read_households(province)):
            raise HTTPException(403, "a household's readings are personal data: only its province's "
                                     "operators see them")

    def check_role(self, *roles: ApiRole) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise HTTPException(403, f"role {self.role.value} may not do this (needs {allowed})")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, token_id: str, role: ApiRole, *, province: int | None = None,
                 organisation: str | None = None) -> str:
    """Store a new token's hash; returns the token (the only time it is seen).

    Raises:
        ValueError: the organisation role without an organisation.
    """
    if role is ApiRole.ORGANISATION and organisation is None:
        raise ValueError("an organisation token must name its organisation")
    token = secrets.token_urlsafe(32)
    session.add(ApiToken(id=token_id, token_hash=_hash(token), role=role, province_code=province,
                         organisation_id=organisation, created_at=dt.datetime.now(dt.UTC)))
    session.flush()
    return token


UNKNOWN_TTL_S = 5.0


class Authenticator:
    """Bearer token -> Principal, remembered for ``ttl_s``: a request that finds its token
    remembered costs no registry query and no trip through the thread pool (the coverage
    and indicator endpoints answer from their cache on the event loop). The price: a token
    revoked in the registry keeps working for up to ``ttl_s``.

    Unknown (or revoked) tokens are remembered too, for ``unknown_ttl_s``: a client left
    with a revoked or mistyped token, retrying or polling, would otherwise cost a registry
    query and a thread-pool trip per request, and crowd out the requests that matter. The
    price: a token made after its first refused use works only when that memory lapses,
    so the TTL is short. Both caches are bounded (oldest dropped first), so a flood of
    random tokens costs memory no more than ``maxsize`` digests."""

    def __init__(self, sessions: sessionmaker[Session], ttl_s: float, *,
                 unknown_ttl_s: float = UNKNOWN_TTL_S) -> None:
        self._sessions = sessions
        self._known: cachetools.TTLCache[str, Principal] = cachetools.TTLCache(
            maxsize=10_000, ttl=ttl_s or 1e-9)
        self._unknown: cachetools.TTLCache[str, bool] = cachetools.TTLCache(
            maxsize=10_000, ttl=unknown_ttl_s or 1e-9)

    async def __call__(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise HTTPException(401, "an API token is required: Authorization: Bearer <token>",
                                headers={"WWW-Authenticate": "Bearer"})
        digest = _hash(token.strip())
        who = self._known.get(digest)
        if who is None:
            if digest in self._unknown:
                raise _refused()
            who = await run_in_threadpool(self._lookup, digest)
            if who is None:
                self._unknown[digest] = True
                raise _refused()
            self._known[digest] = who
        return who

    def _lookup(self, digest: str) -> Principal | None:
        with self._sessions() as session:
            row = find_token(session, digest)
        if row is None or row.revoked_at is not None:
            return None
        return Principal(row.id, row.role, row.province_code, row.organisation_id)


def _refused() -> HTTPException:
    """A new one each time: an exception raised again keeps growing its traceback."""
    return HTTPException(401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})
