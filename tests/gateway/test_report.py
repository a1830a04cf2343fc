"""Report on change: deadbands, any change, and the maximum silence."""

from __future__ import annotations

import pytest
from iotgw.devices import Reading
from iotgw.gateway.config import ReportConfig
from iotgw.gateway.report import ChangeFilter
from pydantic import ValidationError


def _reading(ts_s: float, **values: float) -> Reading:
    return Reading(device="d", ts=int(ts_s * 1000) + 1, values=values)


def test_deadband_any_change_and_max_silence() -> None:
    report = ChangeFilter(ReportConfig(deadband={"soil_moisture": 1.0}, max_silence_s=60))
    sent = [report.wants(r) for r in (
        _reading(0, soil_moisture=30.0, soil_temperature=25.0),    # first: always
        _reading(10, soil_moisture=30.9, soil_temperature=25.0),   # within the deadband
        _reading(20, soil_moisture=31.1, soil_temperature=25.0),   # > 1.0 from the last sent (30.0)
        _reading(30, soil_moisture=31.1, soil_temperature=25.1),   # no deadband: any change
        _reading(40, soil_moisture=31.1, soil_temperature=25.1),   # nothing moved
        _reading(89, soil_moisture=31.1, soil_temperature=25.1),   # 59 s of silence
        _reading(90, soil_moisture=31.1, soil_temperature=25.1),   # 60 s: alive
        _reading(91, soil_moisture=31.1),                          # a quantity went missing
    )]
    assert sent == [True, False, True, True, False, False, True, True]


def test_deadband_names_known_quantities() -> None:
    with pytest.raises(ValidationError, match="unknown quantities \\['moisture'\\]"):
        ReportConfig(deadband={"moisture": 1.0})
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        ReportConfig(deadband={"soil_moisture": -1.0})
