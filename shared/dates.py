"""Dates as the services exchange and print them.

One ISO-date pattern for data that enters (YYYY-MM-DD, nothing else), one
Chinese form for what people read (GB/T 9704-2012: arabic numerals,
2026年11月27日), and "today" in the bureau's time zone.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_iso_date(value) -> date | None:
    """A date from a date, datetime or strict ISO string; None when it is none of these or invalid."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def chinese_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def today_in_china() -> date:
    return datetime.now(CHINA).date()
