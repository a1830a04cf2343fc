"""API tokens and roles. A token is 32 random bytes shown once; the registry keeps its
SHA-256. ``Authorization: Bearer <token>``: none or unknown -> 401, a role or province
that may not see what is asked -> 403."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import ApiRole, ApiToken


@dataclass(frozen=True, slots=True)
class Principal:
    token_id: str
    role: ApiRole
    province: int | None  # for the province role
    organisation: str | None  # whose platform use the requests count as

    def may_read(self, province: int) -> bool:
        return self.role is not ApiRole.PROVINCE or self.province == province

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


def authenticate(session: Session, request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "an API token is required: Authorization: Bearer <token>",
                            headers={"WWW-Authenticate": "Bearer"})
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token.strip())))
    if row is None or row.revoked_at is not None:
        raise HTTPException(401, "unknown or revoked API token", headers={"WWW-Authenticate": "Bearer"})
    return Principal(row.id, row.role, row.province_code, row.organisation_id)
