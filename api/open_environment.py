"""Open environmental data: which station-days are published, and under what terms.

A station's day is published when the station was an open one (``registry.open_stations``)
and its readings filled at least ``min_availability`` of the reporting intervals expected
while it was placed that day (its interval, at most an hour): a daily mean over a few
readings is not the quality-checked dataset the plan asks for (seed 000, line 84: "Chỉ
công khai ... các tập dữ liệu mở đáp ứng yêu cầu chất lượng"). A station moved during the
month reports each day under the commune it spent most of that day in.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence

from iotgw.api.schemas import Scalar
from iotgw.registry.open_stations import StationPlacement
from iotgw.rollup.periods import VIETNAM

LICENCE = "CC BY 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
DAY_S = 86_400


def _overlap_s(placement: StationPlacement, start: dt.datetime, end: dt.datetime) -> float:
    until = min(end, placement.valid_to or end)
    return max(0.0, (until - max(start, placement.valid_from)).total_seconds())


def station_days(placements: Sequence[StationPlacement], daily: Mapping[str, list[dict[str, float | int]]],
                 min_availability: float) -> list[dict[str, Scalar]]:
    """One row per published station-day: station, commune, date, availability (% of the
    expected intervals) and each quantity's daily mean."""
    by_station: dict[str, list[StationPlacement]] = defaultdict(list)
    for placement in placements:
        by_station[placement.device_id].append(placement)
    rows: list[dict[str, Scalar]] = []
    for station, places in sorted(by_station.items()):
        for row in daily.get(station, []):
            start = dt.datetime.fromtimestamp(int(row["time"]) / 1000, dt.UTC)
            end = start + dt.timedelta(seconds=DAY_S)
            spans = [(_overlap_s(p, start, end), p) for p in places]
            placed_s = sum(span for span, _ in spans)
            if placed_s <= 0:
                continue
            where = max(spans, key=lambda sp: sp[0])[1]
            expected = placed_s / min(where.interval_s, 3600)
            availability = min(1.0, float(row.get("intervals", 0)) / expected)
            if availability < min_availability:
                continue
            rows.append({"station": station, "commune": where.ward_code,
                         "date": start.astimezone(VIETNAM).date().isoformat(),
                         "availability": round(100 * availability, 1),
                         **{k.removesuffix("_mean"): round(v, 3) for k, v in row.items()
                            if k.endswith("_mean")}})
    return rows
