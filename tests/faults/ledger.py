"""The fault suite's table: what each fault did to the readings, and the verdict.

Tests of the fault suite (marker ``faults``) record a row here and assert its verdict in
the same call, so the table printed at the end of the run (``pytest_terminal_summary`` in
``tests/conftest.py``) and the assertions CI runs are one thing. ``make faults`` runs the
suite with long outages (``IOTGW_FAULTS=long``); ``make test`` runs it with short ones.

Stored points are counted per (device, time): InfluxDB keeps one point per series and
timestamp, so a message delivered twice (MQTT QoS 1 is at-least-once) lands on the same
point. "duplicated" counts points beyond what a device sent, which is what a reading
stored under a second identity would look like.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

LONG = os.environ.get("IOTGW_FAULTS") == "long"


def seconds(short: float, long: float) -> float:
    """An outage's length: short in ``make test``, long in ``make faults``."""
    return long if LONG else short


@dataclass(frozen=True, slots=True)
class Tally:
    sent: int
    stored: int
    lost: int
    duplicated: int
    wrong: int = 0  # stored with a value other than the device's
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    fault: str
    sent: int | None
    stored: int | None
    lost: int | None
    duplicated: int | None
    promise: str
    verdict: str
    ok: bool


ROWS: list[Row] = []


def none_lost(fault: str, tally: Tally) -> None:
    """The design promises every reading stored exactly once."""
    ok = tally.lost == tally.duplicated == tally.wrong == 0
    verdict = "survived" if ok else f"FAILED: {'; '.join(tally.problems[:3])}"
    ROWS.append(Row(fault, tally.sent, tally.stored, tally.lost, tally.duplicated, "none lost", verdict, ok))
    assert ok, f"{fault}: {tally}"


def policy(fault: str, *, sent: int, stored: int, counted: int, what: str, ambiguous: int = 0) -> None:
    """The design promises a policy (e.g. drop oldest): every reading not stored is one the
    policy counted, and the policy did act. ``ambiguous``: readings whose fate the gateway
    could not know (a group commit a failing disk reported as failed, that reached it all
    the same): counted as lost, they may still arrive, so the count may exceed the loss by
    at most that many, never fall short of it."""
    unaccounted = sent - stored - counted
    ok = -ambiguous <= unaccounted <= 0 and counted > 0
    over = f", {-unaccounted} of them stored after all (one group the failing disk took)" \
        if unaccounted < 0 and ok else ""
    verdict = f"{what}: {counted} counted{over}" + ("" if ok else f"; FAILED: {unaccounted} unaccounted")
    ROWS.append(Row(fault, sent, stored, unaccounted, 0, "policy, counted", verdict, ok))
    assert ok, f"{fault}: sent {sent}, stored {stored}, counted {counted}"


def refused(fault: str, *, ok: bool, verdict: str) -> None:
    """Hostile input or access that must be refused (no readings involved)."""
    ROWS.append(Row(fault, None, None, None, None, "refused", verdict if ok else f"FAILED: {verdict}", ok))
    assert ok, f"{fault}: {verdict}"


def render(all_rows: list[Row]) -> list[str]:
    """The table; a row recorded more than once (a test run per registry backend) shows once."""
    rows = list(dict.fromkeys(all_rows))
    header = ("fault", "sent", "stored", "lost", "dup", "promise", "verdict")
    cells = [header] + [(r.fault, *("-" if v is None else str(v) for v in
                                     (r.sent, r.stored, r.lost, r.duplicated)), r.promise, r.verdict)
                        for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header) - 1)]
    lines = []
    for n, cell in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if 0 < i < 5 else c.ljust(w)
                               for i, (c, w) in enumerate(zip(cell, widths, strict=False))) + "  " + cell[-1])
        if n == 0:
            lines.append("-" * len(lines[0]))
    failed = sum(not r.ok for r in rows)
    lines.append(f"{len(rows)} faults, {failed} failed" + (" (run with IOTGW_FAULTS=long for long outages)"
                                                           if not LONG else ", long outages"))
    return lines
