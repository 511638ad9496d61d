"""Working-day calendar of the People's Republic of China.

Statutory periods of the 行政许可法 (art. 82) and the short periods of the
行政处罚法 (art. 85) are counted in working days, and a working day follows
the State Council's yearly holiday schedule, which moves weekend days (调休).
The schedule for a year is only published late in the year before, so the
calendar must never guess: a day in a year without data raises
`CalendarUnavailable`.

Sources, in order of precedence:

1. An operator-editable JSON file (path given to `WorkdayCalendar`, usually
   `ZHIFA_CALENDAR_FILE`; may be None). A year present in the file REPLACES
   the chinese-calendar package's data for that whole year, so the operator
   can add a year the package does not know yet or correct a wrong one.
2. The chinese-calendar package (1.11 knows 2004-2026).

File format (see data/calendar.example.json)::

    {
      "_comment": "free text, ignored (any top-level key starting with _)",
      "years": {
        "2027": {
          "holidays": ["2027-01-01", "..."],
          "workdays": ["2027-02-07", "..."]
        }
      }
    }

- `holidays`: days off that would otherwise be working days (Monday-Friday
  days of the statutory holidays and their bridging days). Statutory holidays
  that fall on a Saturday or Sunday need not be listed (listing them is
  harmless).
- `workdays`: weekend days that are working days because of 调休.
- Both keys are required for every year listed (write `[]` when a year has
  no 调休 workdays) and `holidays` must not be empty: a year entry is a
  deliberate statement of the whole official schedule, copied from the
  State Council's notice, never a guess.
- Dates are ISO `YYYY-MM-DD` and must lie in the year they are listed under;
  a workday must be a Saturday or Sunday; no date may be in both lists.
  Keys starting with `_` inside a year are comments and ignored.

Any error in the file (unreadable, bad JSON, bad shape, bad date) raises
`ValueError` naming the file and the entry when the calendar is built: it is
an operator error and the service must not start with it.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
from lunardate import LunarDate

from shared.dates import ISO_DATE

__all__ = ["CalendarUnavailable", "WorkdayCalendar", "statutory_holidays"]

_YEAR = re.compile(r"^\d{4}$")


class CalendarUnavailable(Exception):
    """No holiday schedule is loaded for `year`; a period reaching it cannot be counted."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no holiday schedule loaded for year {year}")
        self.year = year


def statutory_holidays(year: int) -> frozenset[date]:
    """The public holidays the law itself fixes for `year` (《全国年节及纪念日放假办法》, as revised
    2024-11-10, in force 2025-01-01): 元旦 1 day, 春节 4 days (除夕 and 正月初一 to 初三), 清明 1 day
    (the solar term), 劳动节 2 days (May 1-2), 端午 1 day (五月初五), 中秋 1 day (八月十五),
    国庆 3 days (October 1-3). The State Council's yearly schedule adds bridging days and moves
    weekends (调休); those cannot be known before it is published."""
    new_year = LunarDate(year, 1, 1).to_solar_date()
    qingming = next(d for d, name in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
                    if name == "清明")
    return frozenset({
        date(year, 1, 1),
        new_year - timedelta(days=1), new_year, new_year + timedelta(days=1), new_year + timedelta(days=2),
        qingming,
        date(year, 5, 1), date(year, 5, 2),
        LunarDate(year, 5, 5).to_solar_date(),
        LunarDate(year, 8, 15).to_solar_date(),
        date(year, 10, 1), date(year, 10, 2), date(year, 10, 3),
    })


class _YearSchedule:
    __slots__ = ("holidays", "workdays")

    def __init__(self, holidays: frozenset[date], workdays: frozenset[date]) -> None:
        self.holidays = holidays
        self.workdays = workdays


def _package_years() -> set[int]:
    # The package treats every year between its first and last holiday as known
    # (chinese_calendar.utils._validate_date).
    if not chinese_calendar.holidays:
        return set()
    first = min(chinese_calendar.holidays).year
    last = max(chinese_calendar.holidays).year
    return set(range(first, last + 1))


class WorkdayCalendar:
    """Working days from chinese-calendar plus an optional operator file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._overrides: dict[int, _YearSchedule] = (
            _load_file(self.path) if self.path is not None else {}
        )
        self._package_years = _package_years()

    def known_years(self) -> list[int]:
        """Years for which working days can be computed, ascending."""
        return sorted(self._package_years | set(self._overrides))

    def has_schedule(self, year: int) -> bool:
        return year in self._overrides or year in self._package_years

    def is_workday(self, d: date, provisional: bool = False) -> bool:
        """True when `d` is a working day; raises CalendarUnavailable for a year without data,
        unless `provisional`: then such a year counts the statutory holidays and weekends only."""
        if isinstance(d, datetime):
            d = d.date()
        if not isinstance(d, date):
            raise TypeError(f"expected datetime.date, got {type(d).__name__}")
        if provisional and not self.has_schedule(d.year) and d.year > max(self._package_years | {0}):
            try:
                return d.weekday() < 5 and d not in statutory_holidays(d.year)
            except ValueError:    # beyond the lunar tables (2099)
                raise CalendarUnavailable(d.year) from None
        schedule = self._overrides.get(d.year)
        if schedule is not None:
            if d in schedule.workdays:
                return True
            if d in schedule.holidays:
                return False
            return d.weekday() < 5
        try:
            return chinese_calendar.is_workday(d)
        except NotImplementedError:
            # chinese-calendar's way of saying "no data for this year".
            raise CalendarUnavailable(d.year) from None

    def add_workdays(self, start: date, n: int, provisional: bool = False) -> date:
        """The n-th working day after `start` (start itself is not counted); n=0 gives start."""
        if isinstance(start, datetime):
            start = start.date()
        if n < 0:
            raise ValueError("n must not be negative")
        d = start
        remaining = n
        while remaining > 0:
            d += timedelta(days=1)
            if self.is_workday(d, provisional):
                remaining -= 1
        return d

    def next_workday_on_or_after(self, d: date, provisional: bool = False) -> date:
        """`d` itself when it is a working day, otherwise the first working day after it."""
        while not self.is_workday(d, provisional):
            d += timedelta(days=1)
        return d


def _load_file(path: Path) -> dict[int, _YearSchedule]:
    def fail(where: str, why: str) -> ValueError:
        return ValueError(f"holiday calendar file {path}: {where}: {why}")

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"holiday calendar file {path}: cannot be read: {exc}") from exc
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"holiday calendar file {path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc

    if not isinstance(doc, dict):
        raise fail("top level", "must be a JSON object")
    for key in doc:
        if key != "years" and not key.startswith("_"):
            raise fail(key, "unknown key (expected 'years'; comments start with '_')")
    years = doc.get("years")
    if not isinstance(years, dict):
        raise fail("years", "missing or not an object")

    result: dict[int, _YearSchedule] = {}
    for year_key, entry in years.items():
        where = f"years/{year_key}"
        if not _YEAR.match(year_key):
            raise fail(where, "year key must be four digits, e.g. \"2027\"")
        year = int(year_key)
        if not isinstance(entry, dict):
            raise fail(where, "must be an object with 'holidays' and 'workdays'")
        for key in entry:
            if key not in ("holidays", "workdays") and not key.startswith("_"):
                raise fail(f"{where}/{key}", "unknown key (expected 'holidays' or 'workdays')")
        lists: dict[str, frozenset[date]] = {}
        for kind in ("holidays", "workdays"):
            if kind not in entry:
                raise fail(f"{where}/{kind}", "missing (write [] if there are none)")
            items = entry[kind]
            if not isinstance(items, list):
                raise fail(f"{where}/{kind}", "must be a list of ISO dates")
            days: set[date] = set()
            for i, item in enumerate(items):
                item_where = f"{where}/{kind}/{i}"
                if not isinstance(item, str) or not ISO_DATE.match(item):
                    raise fail(item_where, f"{item!r} is not a date in YYYY-MM-DD form")
                try:
                    d = date.fromisoformat(item)
                except ValueError:
                    raise fail(item_where, f"{item!r} is not a valid calendar date") from None
                if d.year != year:
                    raise fail(item_where, f"{item} is not in year {year}")
                if kind == "workdays" and d.weekday() < 5:
                    raise fail(item_where, f"{item} is a weekday; only weekend 调休 days belong in workdays")
                if d in days:
                    raise fail(item_where, f"{item} is listed twice")
                days.add(d)
            lists[kind] = frozenset(days)
        if not lists["holidays"]:
            raise fail(f"{where}/holidays", "empty; copy the year's full schedule from the State Council notice")
        both = lists["holidays"] & lists["workdays"]
        if both:
            raise fail(where, f"{min(both).isoformat()} is listed as both holiday and workday")
        result[year] = _YearSchedule(lists["holidays"], lists["workdays"])
    return result
