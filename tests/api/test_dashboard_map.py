"""What the dashboard's map reads: provinces and communes at the centroids
``vietnamadminunits`` ships (matched to the registry's ward codes by name), and a commune's
devices, households' meters only for the tokens that may read them."""

from __future__ import annotations

import sqlite3

import pytest
from iotgw.api.auth import create_token
from iotgw.registry import ApiRole, make_engine, session_factory
from iotgw.registry.former_provinces import library_data

from tests.api.conftest import PROVINCE, Stack

pytestmark = pytest.mark.integration


def _library_rows() -> list[tuple[int, str, float, float, float, float]]:
    with sqlite3.connect(f"file:{library_data() / 'dataset.db'}?mode=ro", uri=True) as db:
        return [(int(p), w, wlat, wlon, plat, plon) for p, w, wlat, wlon, plat, plon in db.execute(
            "SELECT provinceCode, ward, wardLat, wardLon, provinceLat, provinceLon FROM admin_units")]


def test_provinces_and_communes_are_at_the_libraries_centroids(stack: Stack) -> None:
    rows = _library_rows()
    provinces = stack.get("/v1/map/provinces").json()
    assert len(provinces) == 34
    library = {p: (plat, plon) for p, _, _, _, plat, plon in rows}
    assert {p["code"]: (p["latitude"], p["longitude"]) for p in provinces} == library
    assert all(8 < p["latitude"] < 24 and 102 < p["longitude"] < 110 for p in provinces)

    communes = stack.get(f"/v1/provinces/{PROVINCE}/communes").json()
    coverage = stack.get(f"/v1/provinces/{PROVINCE}/coverage", date="2026-03-10").json()
    assert [c["code"] for c in communes] == sorted(c["commune"] for c in coverage["communes"])
    by_name = {(p, w): (lat, lon) for p, w, lat, lon, _, _ in rows}
    matched = [c for c in communes if (PROVINCE, c["name"]) in by_name]
    assert len(matched) > 0.9 * len(communes)  # the rest differ in tone placement or dashes
    for commune in matched:
        assert (commune["latitude"], commune["longitude"]) == by_name[PROVINCE, commune["name"]]
    everywhere = stack.get("/v1/map/communes").json()
    assert len(everywhere) == len(rows) == 3321
    assert {c["code"] for c in everywhere if c["province"] == PROVINCE} == {c["code"] for c in communes}


def test_a_communes_devices_show_households_only_to_their_province(stack: Stack) -> None:
    households, farm = stack.wards[3], stack.wards[0]
    path = f"/v1/provinces/{PROVINCE}/communes/{households}/devices"
    assert [d["id"] for d in stack.get(path, who="dong_thap").json()["devices"]] == ["meter-1", "meter-2"]
    for who in ("ministry", "operator"):
        assert stack.get(path, who=who).json()["devices"] == []
    assert stack.get(path, who="dong_nai").status_code == 403
    with session_factory(make_engine(stack.registry_url))() as session, session.begin():
        token = create_token(session, "farm-1-map", ApiRole.ORGANISATION, organisation="farm-1")
    stack.tokens["farm"] = token
    assert stack.get(path, who="farm").status_code == 403
    assert stack.get(f"/v1/provinces/{PROVINCE}/communes", who="farm").status_code == 403

    found = stack.get(f"/v1/provinces/{PROVINCE}/communes/{farm}/devices", who="ministry").json()
    assert [(d["id"], d["profile"], d["gateway"], d["organisation"]) for d in found["devices"]] == [
        ("soil-1", "soil_probe", "gw-dt-1", "farm-1")]
    elsewhere = stack.get("/v1/provinces/75/communes").json()[0]["code"]
    missing = stack.get(f"/v1/provinces/{PROVINCE}/communes/{elsewhere}/devices")
    assert missing.status_code == 404 and str(elsewhere) in missing.json()["detail"]
    assert stack.get("/v1/provinces/99/communes").status_code == 404


def test_profile_labels_come_from_the_catalogue(stack: Stack) -> None:
    labels = stack.get("/v1/map/profiles").json()
    assert labels["soil_probe"] == {"vi": "Cảm biến đất đồng ruộng", "en": "Field soil probe",
                                    "sector": "agriculture"}
