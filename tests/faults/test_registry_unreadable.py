"""Ingest never depends on the registry being readable right now (issue 26).

Real ingest, broker, influxd and gateway agents, a real SQLite registry file. The file is
renamed away and replaced by one that is not a database (which stops reads as root too,
unlike chmod), is missing when ingest starts, and is replaced by another registry. Ingest
keeps running, serves the last good tags, says how stale they are, never creates the file,
and dead-letters (``registry_unavailable``) only readings of devices it has never seen,
which ``iotgw ingest replay`` brings back once the registry is there.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from iotgw.gateway import GatewayConfig
from iotgw.registry import Ward, make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_import import import_rows
from sqlalchemy import select

from iotgw.processes import free_port
from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tests.faults.ledger import Tally

pytestmark = [pytest.mark.integration, pytest.mark.faults]

REFRESH_S = 5.0  # RegistryLink's default refresh_s, which the spine's ingest runs with
SINCE = "2025-07-01"


def _wards(url: str) -> tuple[int, int]:
    """Two wards of province 1 (a registry with its administrative units)."""
    with session_factory(make_engine(url))() as s:
        first, second = s.scalars(select(Ward.code).where(Ward.province_code == 1)
                                  .order_by(Ward.code).limit(2)).all()
    return first, second


def _rows(fleet: list[GatewayConfig], ward: int) -> dict[str, list[dict[str, object]]]:
    return {
        "gateways": [{"id": g.gateway_id, "ward_code": ward, "installed_on": SINCE} for g in fleet],
        "devices": [{"id": d.id, "gateway_id": g.gateway_id, "profile": d.profile, "sector": "environment",
                     "expected_interval_s": 60, "installed_on": SINCE, "ward_code": ward}
                    for g in fleet for d in g.devices],
    }


def _build(path: Path, fleet: list[GatewayConfig], ward_index: int) -> int:
    """A registry at ``path`` with the fleet in the ward ``ward_index`` (0 or 1), imported
    as an operator imports it; the same steps whatever the ward, so the same revision."""
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    with session_factory(engine)() as s, s.begin():
        seed_admin_units(s)
    ward = _wards(url)[ward_index]
    with session_factory(engine)() as s, s.begin():
        for kind, records in _rows(fleet, ward).items():
            import_rows(s, kind, enumerate(records, start=2), source=f"{kind}.json")
    engine.dispose()
    return ward


def _metric(port: int, name: str) -> float | None:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return None if match is None else float(match.group(1))


def _wait(what: str, predicate: Callable[[], bool], timeout_s: float = 30.0) -> bool:
    """True once ``predicate`` holds, False at the deadline (the row then fails)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _with_checks(result: Tally, checks: dict[str, bool], mistagged: int = 0) -> Tally:
    """The tally with readings stored under other tags than their device's counted as wrong,
    and each failed check named (and counted as wrong, so that the row fails)."""
    failed = tuple(name for name, ok in checks.items() if not ok)
    problems = failed + ((f"{mistagged} stored with other tags",) if mistagged else ()) + result.problems
    return replace(result, wrong=result.wrong + mistagged + len(failed), problems=problems)


def _communes(spine: Spine, fleet: list[GatewayConfig]) -> list[tuple[int, str]]:
    """(device time, commune tag) of every stored point of the fleet."""
    return [(row["time"], row.get("commune") or "") for g in fleet for d in g.devices
            for row in spine.stored()[d.id]]


def test_registry_renamed_away_then_not_a_database_then_back(spine: Spine) -> None:
    """(a) Known devices keep their tags, the stale gauge rises, a warning names the file."""
    path = spine.workdir / "registry.sqlite"
    [cfg] = spine.fleet(1, 3, 600, interval_s=0.05)
    ward = _build(path, [cfg], 0)
    port = free_port()
    worker = spine.start_ingest(registry_url=f"sqlite:///{path}", metrics_port=port)
    gateway = spine.start_gateway(cfg)
    stale = "iotgw_ingest_registry_stale_seconds"
    seen_all = _wait("every device stored once", lambda: all(spine.stored()[d.id] for d in cfg.devices))
    os.rename(path, spine.workdir / "away.sqlite")
    went_stale = _wait("stale", lambda: (_metric(port, stale) or 0) > 0, timeout_s=REFRESH_S + 5)
    time.sleep(ledger.seconds(2, 20))
    first = _metric(port, stale) or 0
    junk = spine.workdir / "junk"
    junk.write_bytes(b"this is not a SQLite database\n" * 200)
    os.replace(junk, path)
    time.sleep(REFRESH_S + 1)
    rose = (_metric(port, stale) or 0) > first
    os.replace(spine.workdir / "away.sqlite", path)
    fresh_again = _wait("fresh", lambda: _metric(port, stale) == 0, timeout_s=REFRESH_S + 5)
    assert gateway.wait(120) == 0, gateway.log_tail()
    result = tally(spine, [cfg])
    log = worker.log_path.read_text(errors="replace")
    failures = _metric(port, "iotgw_ingest_registry_read_failures_total") or 0
    mistagged = sum(commune != str(ward) for _, commune in _communes(spine, [cfg]))
    ledger.none_lost("registry file renamed away, then not a database, then back (ingest running)",
                     _with_checks(result, {
                         "every device stored before the fault": seen_all,
                         "stale gauge above 0": went_stale, "stale gauge rising": rose,
                         "fresh again": fresh_again, "read failures counted": failures >= 2,
                         "warning names the file": f"registry sqlite:///{path} unreadable" in log,
                         "ingest running": worker.running, "no traceback": "Traceback" not in log,
                     }, mistagged))


def _cli(spine: Spine, *args: str) -> None:
    done = subprocess.run([sys.executable, "-P", "-m", "iotgw", *args], cwd=spine.workdir,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"iotgw {' '.join(args)}: {done.stdout}\n{done.stderr}"


def _write_csv(path: Path, records: list[dict[str, object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def test_registry_missing_at_start(spine: Spine) -> None:
    """(b) No traceback, no file created, running; readings of devices never seen are
    dead-lettered as registry_unavailable; after init + import they flow with tags and the
    dead letters replay with tags: none lost."""
    path = spine.workdir / "registry" / "registry.sqlite"
    path.parent.mkdir()
    url = f"sqlite:///{path}"
    early, late = spine.fleet(2, 2, 40, interval_s=0.05)
    port = free_port()
    worker = spine.start_ingest(registry_url=url, metrics_port=port)
    went_stale = _wait("stale", lambda: (_metric(port, "iotgw_ingest_registry_stale_seconds") or 0) > 0,
                       timeout_s=REFRESH_S + 5)
    sent_early = sum(d.samples or 0 for d in early.devices)
    assert spine.start_gateway(early).wait(90) == 0
    held = _wait("dead letters", lambda: len(spine.dead_letters()) >= sent_early)
    letters = spine.dead_letters()
    counted = _metric(port, 'iotgw_ingest_dead_letters_total{kind="registry_unavailable"}')
    kinds_ok = len(letters) == counted == sent_early and all(
        "registry unavailable" in x.reason and str(path) in x.reason for x in letters)
    created_meanwhile = path.exists() or any(path.parent.iterdir())
    _cli(spine, "registry", "init", "--url", url)
    ward = _wards(url)[0]
    for kind, records in _rows([early, late], ward).items():
        _cli(spine, "registry", "import", kind, str(_write_csv(spine.workdir / f"{kind}.csv", records)),
             "--url", url)
    fresh = _wait("fresh", lambda: _metric(port, "iotgw_ingest_registry_stale_seconds") == 0,
                  timeout_s=REFRESH_S + 5)
    assert spine.start_gateway(late).wait(90) == 0
    _cli(spine, "ingest", "replay", "--config", str(spine.workdir / "ingest-1.toml"))
    result = tally(spine, [early, late])
    log = worker.log_path.read_text(errors="replace")
    mistagged = sum(commune != str(ward) for _, commune in _communes(spine, [early, late]))
    ledger.none_lost("registry missing at ingest start (held as dead letters, replayed after init)",
                     _with_checks(result, {
                         "stale gauge above 0": went_stale, "fresh after init": fresh,
                         f"{sent_early} dead-lettered as registry_unavailable": held and kinds_ok,
                         "no file created by ingest": not created_meanwhile,
                         "warning names the file": f"registry {url} unreadable" in log,
                         "ingest running": worker.running, "no traceback": "Traceback" not in log,
                         "replayed letters gone": spine.dead_letters() == [],
                     }, mistagged))


def test_registry_replaced_by_another(spine: Spine) -> None:
    """(c) The file replaced (mv) by a registry that puts the devices in another commune, at
    the same revision number: readings from one refresh interval on carry the new tags."""
    path = spine.workdir / "registry.sqlite"
    [cfg] = spine.fleet(1, 2, 250, interval_s=0.1)
    old_ward = _build(path, [cfg], 0)
    worker = spine.start_ingest(registry_url=f"sqlite:///{path}")
    gateway = spine.start_gateway(cfg)
    flowing = _wait("first points", lambda: spine.count() >= 20)
    new_ward = _build(spine.workdir / "other.sqlite", [cfg], 1)
    replaced_ms = int(time.time() * 1000)
    os.replace(spine.workdir / "other.sqlite", path)
    assert gateway.wait(120) == 0, gateway.log_tail()
    result = tally(spine, [cfg])
    due_ms = replaced_ms + int((REFRESH_S + 2) * 1000)  # a check, plus a batch and delivery
    points = _communes(spine, [cfg])
    after = [commune for ts, commune in points if ts >= due_ms]
    before = [commune for ts, commune in points if ts < replaced_ms]
    log = worker.log_path.read_text(errors="replace")
    mistagged = sum(c != str(new_ward) for c in after) + sum(c != str(old_ward) for c in before)
    ledger.none_lost("registry file replaced by another (devices moved), ingest running",
                     _with_checks(result, {
                         "points before the replacement": flowing and bool(before),
                         "points a refresh interval after it": len(after) >= 50,
                         "replacement logged": f"registry file {path} was replaced" in log,
                         "ingest running": worker.running, "no traceback": "Traceback" not in log,
                     }, mistagged))
