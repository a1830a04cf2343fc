from __future__ import annotations

import io
from pathlib import Path

from iotgw.registry import make_engine, seed_admin_units, session_factory, upgrade
from iotgw.registry.csv_export import export_csv
from iotgw.registry.csv_import import import_csv
from sqlalchemy.orm import Session

FILES = {
    "organisations": "id,name,type,sector,ward_code,since\n"
                     'coop-1,"HTX Tân Hiệp, ""Lúa sạch""",agricultural_cooperative,agriculture,70,'
                     "2025-03-01\n"
                     "factory-1,Nhà máy 1,factory,industry,73,2024-12-31\n",
    "gateways": "id,ward_code,organisation_id,installed_on,latitude,longitude\n"
                "gw-1,70,coop-1,2025-04-01,10.5,105.6\ngw-2,73,,2025-04-02,,\n",
    "devices": "id,gateway_id,profile,sector,expected_interval_s,installed_on,ward_code,"
               "organisation_id,decommissioned_on\n"
               "d-1,gw-1,soil_probe,agriculture,300,2025-04-02,70,coop-1\n"
               "d-2,gw-2,air_quality,environment,60,2025-04-03,73,\n"
               "d-3,gw-2,air_quality,environment,60,2025-04-03,73,,2025-09-30\n",
    "reference_counts": "level,unit_code,org_type,year,count,source\n"
                        "ward,70,farm,2024,12,Thống kê 2024\n",
}


def _export_all(session: Session) -> dict[str, str]:
    out = {}
    for kind in FILES:
        buffer = io.StringIO()
        export_csv(session, kind, buffer)  # type: ignore[arg-type]
        out[kind] = buffer.getvalue()
    return out


def test_export_reimports_to_the_same_registry(session: Session, tmp_path: Path) -> None:
    seed_admin_units(session)
    for kind, text in FILES.items():
        import_csv(session, kind, io.StringIO(text), source=kind)  # type: ignore[arg-type]
    first = _export_all(session)
    assert first["devices"].splitlines()[1] == (
        "d-1,70,coop-1,2025-04-02,,,,gw-1,soil_probe,agriculture,300")
    assert first["devices"].splitlines()[3] == (
        "d-3,73,,2025-04-03,2025-09-30,,,gw-2,air_quality,environment,60")
    assert '"HTX Tân Hiệp, ""Lúa sạch"""' in first["organisations"]
    fresh_engine = make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    upgrade(fresh_engine)
    with session_factory(fresh_engine)() as fresh:
        seed_admin_units(fresh)
        for kind, text in first.items():
            import_csv(fresh, kind, io.StringIO(text), source=kind)  # type: ignore[arg-type]
        assert _export_all(fresh) == first
