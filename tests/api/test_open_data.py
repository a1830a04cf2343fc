"""Open environmental data: public stations only (a private pond only when its owner opted
in, through the registry's CSV import), station-days over the availability threshold, a
moved station's days under the commune it was in, and the licence stated."""

from __future__ import annotations

import datetime as dt

import pytest
from iotgw.registry import (
    Device,
    Sector,
    SubjectKind,
    make_engine,
    move,
    place,
    session_factory,
)
from iotgw.registry.csv_import import import_csv
from iotgw.rollup.periods import VIETNAM, local_midnight_ms
from iotgw.tsdb.schema import HOUR_MS

from tests.api.conftest import DAY, MIN, PLACED, PROVINCE, Stack, roll_up_again

pytestmark = pytest.mark.integration

NEXT = DAY + dt.timedelta(days=1)
ORGANISATIONS = """id,name,type,sector,ward_code,since,open_data
pond-1,Ao cá tra 1,farm,aquaculture,{ward},2026-01-01,
pond-2,Ao cá tra 2,farm,aquaculture,{ward},2026-01-01,true
agency-1,Trung tâm quan trắc,monitoring_agency,environment,{ward},2026-01-01,
"""
# station -> (organisation, share of its 10-minute intervals with a reading)
STATIONS = {"wq-pond-1": ("pond-1", 1.0), "wq-pond-2": ("pond-2", 1.0),
            "wq-agency": ("agency-1", 1.0), "wq-gappy": ("agency-1", 0.5)}


def _stations(stack: Stack) -> None:
    """Two private ponds' probes (one opted in), two agency stations (one reporting half its
    intervals) and the air station ``aq-1`` moved to another commune at the start of NEXT;
    readings of DAY and NEXT, rolled up."""
    ward = stack.wards[1]
    with session_factory(make_engine(stack.registry_url))() as s, s.begin():
        import_csv(s, "organisations", ORGANISATIONS.format(ward=ward).splitlines(keepends=True),
                   source="organisations.csv")
        for station, (org, _) in STATIONS.items():
            s.add(Device(id=station, profile="water_quality", sector=Sector.ENVIRONMENT,
                         expected_interval_s=600, installed_on=PLACED.date()))
            s.flush()
            place(s, SubjectKind.DEVICE, station, at=PLACED, ward_code=ward, organisation_id=org)
        move(s, SubjectKind.DEVICE, "aq-1", at=dt.datetime.combine(NEXT, dt.time(), VIETNAM),
             ward_code=stack.wards[0])
    lines = []
    for day in (DAY, NEXT):
        start = local_midnight_ms(day)
        for station, (_, share) in STATIONS.items():
            lines += [f'telemetry,device={station} dissolved_oxygen=5.{i % 3},quality="good"'
                      f" {start + i * 10 * MIN}" for i in range(int(144 * share))]
        if day == NEXT:
            lines += [f'telemetry,device=aq-1 pm2_5=20.0,quality="good" {start + i * 10 * MIN}'
                      for i in range(144)]
        lines += [f"touched_hours written_at={start + 26 * HOUR_MS}i {start + h * HOUR_MS}"
                  for h in range(24)]
    stack.influx.write_lines(stack.database, "\n".join(lines))
    roll_up_again(stack, DAY, NEXT)


def test_open_data_is_public_stations_over_the_threshold_under_a_licence(stack: Stack) -> None:
    _stations(stack)
    body = stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None, month="2026-03").json()
    days = {(r["station"], r["date"]): r for r in body["rows"]}
    assert {station for station, _ in days} == {"aq-1", "wq-pond-2", "wq-agency"}  # no pond-1, no gappy
    assert days["wq-agency", DAY.isoformat()]["availability"] == 100.0
    assert days["aq-1", DAY.isoformat()]["commune"] == stack.wards[2]  # where it was that day
    assert days["aq-1", NEXT.isoformat()]["commune"] == stack.wards[0]  # and after it moved
    assert body["licence"] == "CC BY 4.0" and body["licence_url"].startswith("https://creativecommons.org")
    assert body["min_availability"] == 0.8
    csv = stack.get(f"/v1/open/provinces/{PROVINCE}/environment", who=None, month="2026-03", format="csv")
    assert "wq-pond-1" not in csv.text and "wq-gappy" not in csv.text and "availability" in csv.text
