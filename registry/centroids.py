"""Where to draw a ward or a province on a map: the centroids ``vietnamadminunits`` (MIT)
ships in ``data/dataset.db`` (table ``admin_units``: ``wardLat``/``wardLon``,
``provinceLat``/``provinceLon``, 2025 units).

Read from the library's data file at first use, as ``former_provinces`` reads it, so the
points cannot drift from the library version installed; wards are matched to the
registry's codes by province and name with ``former_provinces.registry_ward`` (the two
libraries' ward codes differ for 114 wards)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from functools import lru_cache

from iotgw.registry.former_provinces import library_data, registry_ward


@dataclass(frozen=True, slots=True)
class Centroid:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Centroids:
    """ward (registry code) -> its centroid; province code -> its centroid."""

    wards: dict[int, Centroid]
    provinces: dict[int, Centroid]


@lru_cache(maxsize=1)
def centroids() -> Centroids:
    """Built once per process from the library's data (3,321 wards, 34 provinces)."""
    with sqlite3.connect(f"file:{library_data() / 'dataset.db'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT provinceCode, ward, wardLat, wardLon, provinceLat, provinceLon"
                          " FROM admin_units").fetchall()
    wards, provinces = {}, {}
    for province, ward, ward_lat, ward_lon, province_lat, province_lon in rows:
        code = int(province)
        wards[registry_ward(code, ward)] = Centroid(ward_lat, ward_lon)
        provinces[code] = Centroid(province_lat, province_lon)
    return Centroids(wards, provinces)
