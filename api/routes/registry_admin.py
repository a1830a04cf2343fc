"""``/v1/registry/{kind}``: the registry's current rows, and bulk additions to it, for
operators (every province) and a province's administrators (their own); and
``/v1/registry/moves``: one subject moved, its history kept."""

from __future__ import annotations

import csv
import io
import json

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from iotgw.api.access import administered, check_province
from iotgw.api.deps import CurrentPrincipal, SessionDep, SessionsDep
from iotgw.api.schemas import (
    RegistryImportPublic,
    RegistryKind,
    RegistryMoveCreate,
    RegistryMovePublic,
    RegistryRowsPublic,
)
from iotgw.registry import (
    NotFound,
    OutsideProvince,
    Reader,
    RegistryError,
    SubjectKind,
    move,
    record_household_rows,
)
from iotgw.registry.csv_export import records
from iotgw.registry.csv_import import import_csv, import_rows
from iotgw.registry.placements import outside_province
from sqlalchemy.orm import Session, sessionmaker

router = APIRouter(prefix="/v1/registry", tags=["registry"])

MAX_CSV_BYTES = 5_000_000


def _json_rows(text: str) -> list[tuple[int, dict[str, object]]]:
    """Rows of a JSON body, numbered from 1 as the error messages number them."""
    try:
        body = json.loads(text)
    except ValueError as exc:  # not JSON, or a number of more digits than int() takes
        raise HTTPException(422, f"not JSON: {exc}") from None
    except RecursionError:  # json.loads recurses once per nesting level
        raise HTTPException(422, "the body is nested too deeply") from None
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


# Declared before ``/{kind}``, which would otherwise take "moves" for a kind (and answer 422).
@router.post("/moves")
def create_move(body: RegistryMoveCreate, who: CurrentPrincipal, sessions: SessionsDep) -> RegistryMovePublic:
    """Move one device, gateway or organisation from ``at``: its current placement is closed
    and a new one opened, so readings taken before ``at`` keep their old place. Only the
    subject moves (a gateway's devices keep their wards and their gateway). A province's
    administrators move only within their province: the subject where it is now and the
    ward, gateway and organisation it goes to (403 naming what is elsewhere). An unknown
    subject is 404; an unknown or retired target, a time not after the current placement's
    start, or a move that changes nothing is 422.

    A plain ``def``: FastAPI runs it in the thread pool, off the event loop.
    """
    scope = administered(who, None)
    kind = SubjectKind(body.kind)
    links = {name: getattr(body, name) for name in ("gateway_id", "organisation_id")
             if name in body.model_fields_set}
    with sessions() as session, session.begin():
        if scope is not None and (outside := outside_province(
                session, scope, kind, body.id, ward_code=body.ward_code,
                gateway_id=body.gateway_id, organisation_id=body.organisation_id)):
            raise HTTPException(403, f"outside province {scope}: {'; '.join(outside)}")
        try:
            placement = move(session, kind, body.id, at=body.at, ward_code=body.ward_code, **links)
        except NotFound as exc:
            subject = (exc.kind, exc.key) == (kind.value, body.id)
            raise HTTPException(404 if subject else 422, str(exc)) from None
        except RegistryError as exc:
            raise HTTPException(422, str(exc)) from None
        return RegistryMovePublic(kind=body.kind, id=body.id, valid_from=placement.valid_from,
                                  ward_code=placement.ward_code, gateway_id=placement.gateway_id,
                                  organisation_id=placement.organisation_id)


@router.get("/{kind}")
def read_registry_rows(kind: RegistryKind, who: CurrentPrincipal, session: SessionDep,
                       province: int | None = None) -> RegistryRowsPublic:
    """The registry's current rows (the columns of ``iotgw registry export``), of one
    province: operators see any, a province's administrators their own (declarations of
    its organisations, aggregates of its units or of the former provinces it took in).
    Households' rows are personal data: each one read is recorded (``/v1/access-log``)."""
    scope = administered(who, province)
    if scope is not None:
        check_province(scope)
    rows = list(records(session, kind, province=scope))
    if kind == "organisations" and record_household_rows(
            session, Reader(who.token_id, who.role, "GET /v1/registry/organisations"), rows):
        session.commit()
    return RegistryRowsPublic.model_validate({"kind": kind, "province": scope, "rows": rows})


# The body is read by hand (bounded, CSV or JSON), so FastAPI cannot describe it: declared
# here for clients and for the fuzzer (tests/api/test_fuzz.py), which sends what it declares.
IMPORT_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/json": {"schema": {"anyOf": [{"type": "object"},
                                              {"type": "array", "items": {"type": "object"}}]}}}}}


@router.post("/{kind}", openapi_extra=IMPORT_BODY)
async def import_registry_rows(kind: RegistryKind, request: Request, who: CurrentPrincipal,
                               sessions: SessionsDep) -> RegistryImportPublic:
    """Add rows, all or none: a CSV (the columns of ``iotgw registry export``), or with
    ``Content-Type: application/json`` one row as an object or several as a list. A
    province's administrators add rows of their own province only, declarations of their
    own province's organisations only, and no aggregates (national figures, the
    operators'): 403 otherwise."""
    scope = administered(who, None)
    text = await _read_body(request)
    is_json = request.headers.get("content-type", "").startswith("application/json")
    # Parsing and the registry's writes are blocking: on the event loop, a 5 MB import
    # stalled every other request (``/healthz`` included) for as long as it ran.
    count = await run_in_threadpool(_import, sessions, kind, text, is_json=is_json, scope=scope)
    return RegistryImportPublic(imported=count, kind=kind)


def _import(sessions: sessionmaker[Session], kind: RegistryKind, text: str, *, is_json: bool,
            scope: int | None) -> int:
    """Rows added, all or none (in the thread pool: parsing and writes block)."""
    with sessions() as session, session.begin():
        try:
            if is_json:
                return import_rows(session, kind, _json_rows(text), source=f"{kind}.json", province=scope)
            # newline="": lines end at \r, \n or \r\n alike, as the csv module expects.
            return import_csv(session, kind, io.StringIO(text, newline=""), source=f"{kind}.csv",
                              province=scope)
        except OutsideProvince as exc:
            raise HTTPException(403, str(exc)) from None
        except RegistryError as exc:  # ImportFailed names every bad line
            raise HTTPException(422, str(exc)) from None
        except csv.Error as exc:  # e.g. a field longer than the csv module reads
            raise HTTPException(422, f"not CSV: {exc}") from None
