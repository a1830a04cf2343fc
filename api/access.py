"""Which province a request may read or administer, checked in the order the endpoints
document: an unknown province is 404 before a token's province is 403."""

from __future__ import annotations

from fastapi import HTTPException
from iotgw.api.auth import Principal
from iotgw.registry import PROVINCE_CODES, ApiRole


def check_province(code: int) -> None:
    """Raises: HTTPException 404 for a code that is no province."""
    if code not in PROVINCE_CODES:
        raise HTTPException(404, f"no province {code}")


def readable_province(who: Principal, code: int) -> None:
    """A province that exists and that ``who`` may read: province-wide data is closed to
    an organisation's token, which reads only its own devices.

    Raises:
        HTTPException: 404 for no such province, 403 for a token of another province or
            of an organisation.
    """
    check_province(code)
    who.check_read(code)


def administered(who: Principal, province: int | None) -> int | None:
    """The province an administrator works on: a province token its own (403 for another),
    an operator any or all (None); ministries and organisations administer nothing.

    Raises:
        HTTPException: 403 for a role that administers nothing or another province.
    """
    who.check_role(ApiRole.OPERATOR, ApiRole.PROVINCE)
    if who.role is ApiRole.PROVINCE:
        if province is not None:
            who.check_read(province)
        return who.province
    return province
