"""``POST /v1/registry/moves`` against the API stack (tests/api/conftest.py): Đồng Tháp's
devices on gateway gw-dt-1, tokens of an operator, a ministry and two provinces."""

from __future__ import annotations

import datetime as dt

from iotgw.registry import SubjectKind, Ward, make_engine, placements_at, session_factory
from sqlalchemy import select

from tests.api.conftest import PLACED, Stack

AT = "2026-03-01T08:00:00+07:00"


def _post(stack: Stack, who: str | None, body: object):
    headers = {"Authorization": f"Bearer {stack.tokens[who]}"} if who else {}
    return stack.client.post("/v1/registry/moves", json=body, headers=headers)


def _where(stack: Stack, kind: SubjectKind, subject_id: str, at: dt.datetime) -> tuple:
    with session_factory(make_engine(stack.registry_url))() as s:
        return next(((p.ward_code, p.gateway_id, p.organisation_id) for p in placements_at(s, kind, at)
                     if p.subject_id == subject_id), ())


def _ward_of(stack: Stack, province: int) -> int:
    with session_factory(make_engine(stack.registry_url))() as s:
        return s.scalar(select(Ward.code).where(Ward.province_code == province).order_by(Ward.code).limit(1))


def test_an_operator_moves_a_device_and_its_history_is_kept(stack: Stack) -> None:
    first, second = stack.wards[:2]
    moved = _post(stack, "operator", {"kind": "device", "id": "soil-1", "at": AT, "ward_code": second,
                                      "organisation_id": "farm-2"})
    assert moved.status_code == 200, moved.text
    assert moved.json() == {"kind": "device", "id": "soil-1", "valid_from": "2026-03-01T08:00:00+07:00",
                            "ward_code": second, "gateway_id": "gw-dt-1", "organisation_id": "farm-2"}
    at = dt.datetime.fromisoformat(AT)
    before = at - dt.timedelta(seconds=1)
    assert _where(stack, SubjectKind.DEVICE, "soil-1", before) == (first, "gw-dt-1", "farm-1")
    assert _where(stack, SubjectKind.DEVICE, "soil-1", at) == (second, "gw-dt-1", "farm-2")
    # null: on no gateway from then; absent: as it was
    alone = _post(stack, "operator", {"kind": "device", "id": "soil-1", "at": "2026-03-02T00:00:00Z",
                                      "gateway_id": None})
    assert alone.status_code == 200, alone.text
    assert alone.json()["gateway_id"] is None and alone.json()["organisation_id"] == "farm-2"


def test_a_province_moves_only_within_its_own_province(stack: Stack) -> None:
    elsewhere = _ward_of(stack, 75)
    inside = _post(stack, "dong_thap", {"kind": "gateway", "id": "gw-dt-1", "at": AT,
                                        "ward_code": stack.wards[2]})
    assert inside.status_code == 200, inside.text
    # its devices stay where they are, on it
    assert _where(stack, SubjectKind.DEVICE, "aq-1", dt.datetime(2026, 4, 1, tzinfo=dt.UTC)) == (
        stack.wards[2], "gw-dt-1", None)
    out = _post(stack, "dong_thap", {"kind": "device", "id": "soil-2", "at": AT, "ward_code": elsewhere})
    assert out.status_code == 403 and f"ward {elsewhere} is in province 75, not 82" in out.json()["detail"]
    theirs = _post(stack, "dong_nai", {"kind": "device", "id": "soil-2", "at": AT, "ward_code": elsewhere})
    assert theirs.status_code == 403 and "device soil-2 is in province 82, not 75" in theirs.json()["detail"]
    assert _post(stack, "ministry", {"kind": "device", "id": "soil-2", "at": AT,
                                     "ward_code": stack.wards[0]}).status_code == 403
    assert _post(stack, None, {"kind": "device", "id": "soil-2", "at": AT}).status_code == 401
    later = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert _where(stack, SubjectKind.DEVICE, "soil-2", later)[0] == stack.wards[1]


def test_bad_moves_are_refused_and_change_nothing(stack: Stack) -> None:
    ward = stack.wards[2]
    base = {"kind": "device", "id": "soil-2", "at": AT, "ward_code": ward}
    for body, status, detail in [
        ({**base, "id": "ghost"}, 404, "no device 'ghost'"),
        ({**base, "ward_code": 99_999_999}, 422, "no ward 99999999"),
        ({**base, "gateway_id": "gw-9"}, 422, "no gateway 'gw-9'"),
        ({**base, "organisation_id": "org-9"}, 422, "no organisation 'org-9'"),
        ({**base, "at": PLACED.isoformat()}, 422, "is not after its current placement"),
        ({**base, "kind": "gateway", "id": "gw-dt-1", "gateway_id": None}, 422, "only devices move"),
        ({**base, "at": "2026-03-01T08:00:00"}, 422, "timezone"),
        ({**base, "id": "iotgw admin"}, 422, "invalid id"),
        ({**base, "kind": "plant"}, 422, "kind"),
        ({**base, "colour": "red"}, 422, "colour"),
        ([base], 422, ""),
    ]:
        response = _post(stack, "operator", body)
        assert response.status_code == status, (body, response.text)
        assert detail in str(response.json()["detail"]), (body, response.text)
    assert _where(stack, SubjectKind.DEVICE, "soil-2", dt.datetime(2026, 4, 1, tzinfo=dt.UTC)) == (
        stack.wards[1], "gw-dt-1", "farm-2")
