"""Which reports a province owes, to whom and by when, as the plans say.

- 6-monthly (H1, H2): the bodies carrying out the plan report to the province's Department
  of Science and Technology, which compiles them for the People's Committee (seed 000,
  line 325: "Định kỳ 06 tháng ... gửi về Sở Khoa học Công nghệ để tổng hợp báo cáo UBND tỉnh").
- Annual: the Department reports to the People's Committee and the Ministry of Science and
  Technology (seed 000, line 284: "báo cáo UBND tỉnh, Bộ Khoa học và Công nghệ ... định kỳ
  hằng năm"), before 15 December (seed 002, line 473: "trước ngày 15/12").

The plans give the annual deadline only. The H2 report falls due with it (15 December),
and H1 by the same rule half a year earlier (15 June): a date this system chooses, said
as such in every report that carries it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from iotgw.rollup.periods import VIETNAM, Period

Part = Literal["H1", "H2", "year"]
PARTS: tuple[Part, ...] = ("H1", "H2", "year")

PLAN_000 = "000_e9677575aa9b099a.txt"
PLAN_002 = "002_4f9cb3a49536be60.txt"


@dataclass(frozen=True, slots=True)
class Due:
    """One report a province owes."""

    part: Part
    period: Period
    sender: str
    recipient: str
    deadline: dt.date  # to arrive before this day starts, Vietnam time
    deadline_rule: str
    plan_lines: tuple[str, ...]

    @property
    def deadline_at(self) -> dt.datetime:
        return dt.datetime.combine(self.deadline, dt.time(), VIETNAM)


def due(province_name: str, year: int, part: Part) -> Due:
    """The report of ``part`` of ``year`` that the province owes."""
    department = f"Sở Khoa học và Công nghệ tỉnh/thành phố {province_name}"
    if part == "year":
        return Due(part, Period("year", dt.date(year, 1, 1)), department,
                   f"UBND tỉnh/thành phố {province_name}; Bộ Khoa học và Công nghệ", dt.date(year, 12, 15),
                   f"trước ngày 15/12 ({PLAN_002} dòng 473)",
                   (f"{PLAN_000} dòng 284", f"{PLAN_002} dòng 473"))
    second = part == "H2"
    return Due(part, Period("half", dt.date(year, 7 if second else 1, 1)),
               f"Đơn vị vận hành hệ thống iotgw tỉnh/thành phố {province_name}",
               f"{department} (tổng hợp báo cáo UBND tỉnh/thành phố {province_name})",
               dt.date(year, 12 if second else 6, 15),
               ("trước ngày 15/12, cùng báo cáo năm" if second else "trước ngày 15/6")
               + f" (hệ thống chọn; kế hoạch chỉ nêu hạn báo cáo năm, {PLAN_002} dòng 473)",
               (f"{PLAN_000} dòng 325",))
