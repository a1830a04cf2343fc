"""``iotgw registry move`` as an operator runs it: a real ``python -m iotgw`` process on a
SQLite registry, then the placements it left, read back through the registry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from iotgw.registry import SubjectKind, Ward, make_engine, placements_at, session_factory
from sqlalchemy import select

from tests.iotgw.test_cli import iotgw


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[int]]:
    """A registry with gateways gw-1 and gw-2, device d1 on gw-1 in the first ward of
    province 1, organisation coop-1; returns its URL and three wards of province 1."""
    tmp = tmp_path_factory.mktemp("move")
    url = f"sqlite:///{tmp / 'registry.sqlite'}"
    assert iotgw("registry", "init", "--url", url).returncode == 0
    engine = make_engine(url)
    with session_factory(engine)() as session:
        wards = list(session.scalars(select(Ward.code).where(Ward.province_code == 1).order_by(Ward.code)
                                     .limit(3)))
    engine.dispose()
    files = {
        "organisations": f"id,name,type,sector,ward_code,since\ncoop-1,HTX,agricultural_cooperative,"
                         f"agriculture,{wards[0]},2025-07-01\n",
        "gateways": "id,ward_code,installed_on\n"
                    + "".join(f"gw-{n},{wards[0]},2025-07-01\n" for n in (1, 2)),
        "devices": "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code\n"
                   f"d1,gw-1,soil_probe,agriculture,60,2025-07-01,{wards[0]}\n",
    }
    for kind, text in files.items():
        (tmp / f"{kind}.csv").write_text(text)
        assert iotgw("registry", "import", kind, str(tmp / f"{kind}.csv"), "--url", url).returncode == 0
    return url, wards


def _placement(url: str, kind: SubjectKind, subject_id: str, at: dt.datetime) -> tuple:
    engine = make_engine(url)
    with session_factory(engine)() as session:
        found = [(p.ward_code, p.gateway_id, p.organisation_id) for p in placements_at(session, kind, at)
                 if p.subject_id == subject_id]
    engine.dispose()
    return found[0] if found else ()


def test_a_device_moves_and_keeps_its_history(registry: tuple[str, list[int]]) -> None:
    url, (first, second, _) = registry
    moved = iotgw("registry", "move", "device", "d1", "--at", "2026-03-01T08:00:00+07:00", "--ward",
                  str(second), "--gateway", "gw-2", "--organisation", "coop-1", "--url", url)
    assert moved.returncode == 0, moved.stderr
    assert f"device d1 from 2026-03-01T08:00:00+07:00: ward {second}, organisation coop-1, gateway gw-2" \
        in moved.stderr
    at = dt.datetime(2026, 3, 1, 1, tzinfo=dt.UTC)
    assert _placement(url, SubjectKind.DEVICE, "d1", at - dt.timedelta(seconds=1)) == (first, "gw-1", None)
    assert _placement(url, SubjectKind.DEVICE, "d1", at) == (second, "gw-2", "coop-1")
    alone = iotgw("registry", "move", "device", "d1", "--at", "2026-03-02T00:00:00Z", "--no-gateway",
                  "--no-organisation", "--url", url)
    assert alone.returncode == 0, alone.stderr
    assert _placement(url, SubjectKind.DEVICE, "d1", at + dt.timedelta(days=2)) == (second, None, None)


def test_a_gateway_moves_without_its_devices(registry: tuple[str, list[int]]) -> None:
    url, (_, _, third) = registry
    moved = iotgw("registry", "move", "gateway", "gw-1", "--at", "2026-04-01T00:00:00+07:00", "--ward",
                  str(third), "--url", url)
    assert moved.returncode == 0, moved.stderr
    later = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
    assert _placement(url, SubjectKind.GATEWAY, "gw-1", later) == (third, None, None)
    assert _placement(url, SubjectKind.GATEWAY, "gw-2", later)[0] != third


@pytest.mark.parametrize(("args", "message"), [
    (["device", "ghost", "--ward", "{first}"], "no device 'ghost'"),
    (["device", "iotgw admin", "--ward", "{first}"], "invalid device id 'iotgw admin'"),
    (["device", "d1", "--ward", "99999999"], "no ward 99999999"),
    (["device", "d1", "--gateway", "gw-9"], "no gateway 'gw-9'"),
    (["device", "d1", "--organisation", "org-9"], "no organisation 'org-9'"),
    (["device", "d1", "--gateway", "gw-1", "--no-gateway"], "give --gateway or --no-gateway, not both"),
    (["device", "d1", "--at", "2025-06-30T00:00:00+07:00", "--ward", "{third}"],
     "is not after its current placement"),
    (["device", "d1", "--at", "2026-06-01T00:00:00", "--ward", "{first}"], "needs a UTC offset"),
    (["device", "d1", "--at", "yesterday", "--ward", "{first}"], "is not an ISO 8601 time"),
    (["device", "d1"], "nothing to move"),
    (["gateway", "gw-2", "--gateway", "gw-1"], "only devices move between gateways"),
])
def test_a_bad_move_is_a_clear_error_with_exit_code_2(registry: tuple[str, list[int]], args: list[str],
                                                        message: str) -> None:
    url, (first, _, third) = registry
    result = iotgw("registry", "move", *(a.format(first=first, third=third) for a in args), "--url", url)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.stderr


def test_a_retired_ward_is_no_target(tmp_path: Path, registry: tuple[str, list[int]]) -> None:
    url, (first, second, _) = registry
    succession = tmp_path / "succ.csv"
    succession.write_text(f"retired_code,retired_name,successor_code,effective\n{second},X,{first},2026-06-01\n")
    assert iotgw("registry", "import", "successions", str(succession), "--url", url).returncode == 0
    result = iotgw("registry", "move", "gateway", "gw-2", "--at", "2026-07-01T00:00:00+07:00", "--ward",
                   str(second), "--url", url)
    assert result.returncode == 2 and f"ward {second}" in result.stderr and "was retired on" in result.stderr
