"""``/v1/registry/{kind}``: the registry's current rows, and bulk additions to it, for
operators (every province) and a province's administrators (their own)."""

from __future__ import annotations

import io
import json

from fastapi import APIRouter, HTTPException, Request

from api.access import administered, check_province
from api.deps import CurrentPrincipal, SessionDep, SessionsDep
from api.schemas import RegistryImportPublic, RegistryKind, RegistryRowsPublic
from registry import OutsideProvince, RegistryError
from registry.csv_export import records
from registry.csv_import import import_csv, import_rows

router = APIRouter(prefix="/v1/registry", tags=["registry"])

MAX_CSV_BYTES = 5_000_000


def _json_rows(text: str) -> list[tuple[int, dict[str, object]]]:
    """Rows of a JSON body, numbered from 1 as the error messages number them."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(422, f"not JSON: {exc}") from None
    rows = body if isinstance(body, list) else [body]
    if not rows or not all(isinstance(row, dict) for row in rows):
        raise HTTPException(422, "expected a row (an object) or a list of rows")
    return list(enumerate(rows, start=1))


async def _read_body(request: Request) -> str:
    """The body as text, read up to the limit and not the whole of a hostile upload."""
    too_large = HTTPException(413, f"at most {MAX_CSV_BYTES} bytes per import")
    if int(request.headers.get("content-length") or 0) > MAX_CSV_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_CSV_BYTES:
            raise too_large
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HTTPException(422, "the body must be UTF-8") from None


@router.get("/{kind}")
def read_registry_rows(kind: RegistryKind, who: CurrentPrincipal, session: SessionDep,
                       province: int | None = None) -> RegistryRowsPublic:
    """The registry's current rows (the columns of ``iotgw registry export``), of one
    province: operators see any, a province's administrators their own."""
    scope = administered(who, province)
    if scope is not None:
        check_province(scope)
    return RegistryRowsPublic.model_validate(
        {"kind": kind, "province": scope, "rows": list(records(session, kind, province=scope))})


@router.post("/{kind}")
async def import_registry_rows(kind: RegistryKind, request: Request, who: CurrentPrincipal,
                               sessions: SessionsDep) -> RegistryImportPublic:
    """Add rows, all or none: a CSV (the columns of ``iotgw registry export``), or with
    ``Content-Type: application/json`` one row as an object or several as a list. A
    province's administrators add rows of their own province only (403 otherwise)."""
    scope = administered(who, None)
    text = await _read_body(request)
    with sessions() as session, session.begin():
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                count = import_rows(session, kind, _json_rows(text), source=f"{kind}.json", province=scope)
            else:
                count = import_csv(session, kind, io.StringIO(text), source=f"{kind}.csv", province=scope)
        except OutsideProvince as exc:
            raise HTTPException(403, str(exc)) from None
        except RegistryError as exc:  # ImportFailed names every bad line
            raise HTTPException(422, str(exc)) from None
    return RegistryImportPublic(imported=count, kind=kind)
