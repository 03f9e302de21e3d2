"""The real ``Calendar`` for China: lunar days from lunar-python, holidays from chinese-calendar.

chinese-calendar only knows the State Council's holiday notices up to the year it was released (2026 for
1.11) and raises ``NotImplementedError`` beyond. For those years the calendar falls back to an estimate —
the fixed-date holidays and the lunar ones computed with lunar-python — plus any dates configured in
``KNOWN_HOLIDAYS`` or the ``XUNZHEN_HOLIDAYS`` setting (read by ``bot.config``). The estimate cannot know the
adjusted working weekends (调休), so it treats every weekend as a day off, which only makes plans cautious.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import chinese_calendar
from lunar_python import Lunar, Solar

ENV_HOLIDAYS = "XUNZHEN_HOLIDAYS"

# Dates announced by the State Council after the installed chinese-calendar was released (ISO dates); add a
# year's notice here (or in XUNZHEN_HOLIDAYS) as soon as it is published, it overrides the estimate's gaps.
KNOWN_HOLIDAYS: tuple[str, ...] = ()


def parse_holiday_setting(value: str) -> set[date]:
    """Dates from ``XUNZHEN_HOLIDAYS``: comma- or line-separated ISO dates, or the path of a file holding them."""
    value = value.strip()
    if not value:
        return set()
    path = Path(value)
    if "," not in value and path.is_file():
        value = path.read_text(encoding="utf-8")
    out = set()
    for raw in value.replace("\n", ",").split(","):
        item = raw.split("#", 1)[0].strip()
        if item:
            try:
                out.add(date.fromisoformat(item))
            except ValueError:
                raise ValueError(f"{ENV_HOLIDAYS}: not an ISO date: {item!r}") from None
    return out


def _span(first: date, days: int) -> set[date]:
    return {first + timedelta(days=i) for i in range(days)}


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    s = Lunar.fromYmd(year, month, day).getSolar()
    return date(s.getYear(), s.getMonth(), s.getDay())


@lru_cache(maxsize=64)
def estimated_holidays(year: int) -> frozenset[date]:
    """Public holidays of ``year`` estimated from the rules, for years chinese-calendar does not know."""
    days: set[date] = {date(year, 1, 1)}  # 元旦
    # 春节: 除夕 to 初七. The statutory days are 除夕 to 初三, but clinics stay shut for the whole break.
    new_year = _lunar_to_solar(year, 1, 1)
    days |= _span(new_year - timedelta(days=1), 8)
    # 清明: the solar term's day; the break borrows the nearest weekend, which is off anyway.
    qingming = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    days.add(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()))
    # 劳动节: two statutory days since 2025, always stretched to a five-day break (5/1-5/5).
    days |= _span(date(year, 5, 1), 5)
    days.add(_lunar_to_solar(year, 5, 5))  # 端午
    days.add(_lunar_to_solar(year, 8, 15))  # 中秋
    days |= _span(date(year, 10, 1), 7)  # 国庆
    return frozenset(days)


class ChineseCalendar:
    """Holidays and workdays of mainland China, and lunar days, for the planner."""

    def __init__(self, extra_holidays: Iterable[date] = ()):
        """``extra_holidays``: ``Settings.extra_holidays`` (``XUNZHEN_HOLIDAYS``), beyond the installed data."""
        self.extra_holidays = frozenset(extra_holidays) | {date.fromisoformat(d) for d in KNOWN_HOLIDAYS}
        self._lunar: dict[date, int] = {}

    def is_holiday(self, d: date) -> bool:
        """True on a public holiday (a named holiday's day off), False on plain weekends and workdays."""
        if d in self.extra_holidays:
            return True
        try:
            off, name = chinese_calendar.get_holiday_detail(d)
        except NotImplementedError:
            return d in estimated_holidays(d.year)
        return bool(off and name)

    def is_workday(self, d: date) -> bool:
        """True on a working day, including adjusted working weekends (调休) where they are known."""
        if d in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            return d.weekday() < 5 and d not in estimated_holidays(d.year)

    def lunar_day(self, d: date) -> int:
        """The day of the lunar month (1..30)."""
        if d not in self._lunar:
            self._lunar[d] = Solar.fromYmd(d.year, d.month, d.day).getLunar().getDay()
        return self._lunar[d]
