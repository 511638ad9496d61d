"""Paging and other integer query arguments, refused with a 422 naming the
argument (never a 500 for `?page=²` or `?size=10**5000`)."""
from __future__ import annotations

from dataclasses import dataclass

from flask import request

from shared.problems import invalid_field

# A digit string longer than this cannot be within any bound we accept; checking
# the length first keeps int() from parsing a 100 kB argument.
_MAX_DIGITS = 19


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query argument `name` as an integer in [low, high], or `default` when absent."""
    raw = request.args.get(name)
    if raw is None:
        return default
    # "²".isdigit() is true, and int() accepts "٣": only ASCII digits count.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= _MAX_DIGITS) or not low <= int(raw) <= high:
        raise invalid_field(name, f"须为 {low}–{high} 之间的整数。")
    return int(raw)


@dataclass(frozen=True)
class Page:
    page: int    # 1-based
    size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def page_args(default_size: int = 20, max_size: int = 100, max_page: int = 10_000) -> Page:
    """`?page=&size=` (the search service's paging): 1-based pages of at most max_size."""
    return Page(int_arg("page", 1, 1, max_page), int_arg("size", default_size, 1, max_size))
