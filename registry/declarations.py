"""Declarations and aggregate counts as the rollup reads them: evidence the platform does
not observe (imported with their source through ``csv_import``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from iotgw.registry.models import AggregateCount, Declaration
from sqlalchemy import select
from sqlalchemy.orm import Session

# A declaration older than this at a period's start no longer counts: surveys and the
# 1970/QĐ-BTTTT assessment are yearly, and an organisation that stopped is not heard of.
DECLARATION_VALID_DAYS = 366


def declared(session: Session, *, start: dt.date, end: dt.date) -> dict[str, frozenset[str]]:
    """subject -> organisations whose latest declaration on it, dated before ``end`` (the
    period's end, exclusive) and at most ``DECLARATION_VALID_DAYS`` before ``start``, holds."""
    since = start - dt.timedelta(days=DECLARATION_VALID_DAYS)
    latest: dict[tuple[str, str], tuple[dt.date, bool]] = {}
    for row in session.scalars(select(Declaration).where(
            Declaration.declared_on >= since, Declaration.declared_on < end)):
        key = (row.subject, row.organisation_id)
        if key not in latest or row.declared_on > latest[key][0]:
            latest[key] = (row.declared_on, row.holds)
    out: dict[str, set[str]] = defaultdict(set)
    for (subject, organisation), (_, holds) in latest.items():
        if holds:
            out[subject].add(organisation)
    return {subject: frozenset(orgs) for subject, orgs in out.items()}


@dataclass(frozen=True, slots=True)
class Aggregate:
    numerator: int
    denominator: int
    source: str


def aggregates(session: Session, year: int) -> dict[tuple[str, str, int], Aggregate]:
    """(measure, level, unit code) -> the N of M imported for ``year``."""
    return {(row.measure, row.level, row.unit_code): Aggregate(row.numerator, row.denominator, row.source)
            for row in session.scalars(select(AggregateCount).where(AggregateCount.year == year))}
