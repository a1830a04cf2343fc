"""What the dashboard's maps draw: ``/v1/map/provinces`` and ``/v1/map/communes`` (the
country), ``/v1/provinces/{province}/communes`` and
``/v1/provinces/{province}/communes/{commune}/devices`` (a province, a commune), and
``/v1/map/profiles`` (the device profiles' names for the legends).

Provinces and communes are placed at their centroids (``iotgw.registry.centroids``), a
device at its registered coordinates when it has them. A household's meter is personal
data: it is listed (id, place) only to the tokens that may read the province's
households, the ones that may read its readings."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException
from iotgw.api.access import readable_province
from iotgw.api.deps import CurrentPrincipal, SessionDep
from iotgw.devices.profiles import PROFILES
from iotgw.registry import (
    OrgType,
    devices_in_province,
    list_provinces,
    organisations_by_id,
    ward_names,
    ward_provinces,
)
from iotgw.registry.centroids import Centroid, centroids
from iotgw.rollup.periods import VIETNAM
from pydantic import BaseModel, RootModel

router = APIRouter(tags=["map"])


class PlacePublic(BaseModel):
    code: int
    name: str
    latitude: float | None  # null: the unit has no centroid in the library's data
    longitude: float | None


class PlacesPublic(RootModel[list[PlacePublic]]):
    pass


class MapDevicePublic(BaseModel):
    id: str
    profile: str
    sector: str
    gateway: str | None
    organisation: str | None
    latitude: float | None  # as registered; null when not recorded
    longitude: float | None


class CommuneDevicesPublic(BaseModel):
    province: int
    commune: int
    name: str
    devices: list[MapDevicePublic]


def _place(code: int, name: str, point: Centroid | None) -> PlacePublic:
    return PlacePublic(code=code, name=name, latitude=point.latitude if point else None,
                       longitude=point.longitude if point else None)


@router.get("/v1/map/provinces")
def read_map_provinces(_who: CurrentPrincipal, session: SessionDep) -> PlacesPublic:
    """Every province at its centroid."""
    points = centroids().provinces
    return PlacesPublic([_place(p.code, p.name, points.get(p.code)) for p in list_provinces(session)])


class WardPointPublic(BaseModel):
    code: int
    province: int
    latitude: float
    longitude: float


class WardPointsPublic(RootModel[list[WardPointPublic]]):
    pass


@router.get("/v1/map/communes")
def read_map_communes(_who: CurrentPrincipal, session: SessionDep) -> WardPointsPublic:
    """Every commune and ward in force at its centroid, without names: the national map
    draws them as the background that gives the country its shape."""
    points = centroids().wards
    in_force = ward_provinces(session, in_force_on=dt.datetime.now(VIETNAM).date())
    return WardPointsPublic([
        WardPointPublic(code=ward, province=province, latitude=point.latitude, longitude=point.longitude)
        for ward, province in sorted(in_force.items()) if (point := points.get(ward)) is not None])


@router.get("/v1/provinces/{province}/communes")
def read_communes(province: int, who: CurrentPrincipal, session: SessionDep) -> PlacesPublic:
    """The province's communes and wards (retired ones too, as coverage lists them), each
    at its centroid (null for a retired one, which the library no longer has)."""
    readable_province(who, province)
    points = centroids().wards
    names = ward_names(session, province)
    return PlacesPublic([_place(code, name, points.get(code)) for code, name in sorted(names.items())])


@router.get("/v1/provinces/{province}/communes/{commune}/devices")
def read_commune_devices(province: int, commune: int, who: CurrentPrincipal,
                         session: SessionDep) -> CommuneDevicesPublic:
    """The devices placed now in the commune, with their coordinates. Households' meters
    only for the tokens that may read them (the province's own)."""
    readable_province(who, province)
    names = ward_names(session, province)
    if commune not in names:
        raise HTTPException(404, f"no commune {commune} in province {province}")
    placed = [(d, p) for d, p in devices_in_province(session, province, profiles=PROFILES)
              if p.ward_code == commune]
    holders = {o.id: o.type for o in organisations_by_id(
        session, {p.organisation_id for _, p in placed if p.organisation_id})}
    shown = [(d, p) for d, p in placed if who.may_read_households(province)
             or holders.get(p.organisation_id or "") is not OrgType.HOUSEHOLD_METER_POINT]
    return CommuneDevicesPublic(province=province, commune=commune, name=names[commune], devices=[
        MapDevicePublic(id=d.id, profile=d.profile, sector=d.sector.value, gateway=p.gateway_id,
                        organisation=p.organisation_id, latitude=d.latitude, longitude=d.longitude)
        for d, p in sorted(shown, key=lambda row: row[0].id)])


class ProfileLabelPublic(BaseModel):
    vi: str
    en: str
    sector: str


class ProfileLabelsPublic(RootModel[dict[str, ProfileLabelPublic]]):
    pass


@router.get("/v1/map/profiles")
def read_profile_labels(_who: CurrentPrincipal) -> ProfileLabelsPublic:
    """The device profiles' names in Vietnamese and English, for the map's and the
    breakdowns' legends (``devices/profiles.toml``)."""
    return ProfileLabelsPublic({name: ProfileLabelPublic(vi=p.label_vi, en=p.label_en, sector=p.sector)
                                for name, p in PROFILES.items()})
