"""Validators of the numbers a decision carries, and the reader of alphanumeric
runs: groups of letters and digits separated by spaces, dashes, dots or line
breaks (`210302 19900308 4561`, `137.0412.5676`, `13342⏎215678`) are joined,
consecutive groups at a time, and each join is classified; the longest join
that is a known kind wins, so two numbers one space apart stay two numbers.
"""
from __future__ import annotations

import re
from datetime import date

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits of a resident ID number (province-level region codes).
ID_REGIONS = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
                       "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split())
HOTLINES = frozenset("12315 12345 12369 12365 12331 12320 12358 12366 12333 12348 12350 12318 12310 "
                     "12319 12328 12338 12306 12377 12356 12351 12395 12123 96315 110 119 120 122 "
                     "12110 95598 10086 10010 10000".split())

_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT = re.compile(r"[0-9A-HJ-NP-RTUWXY]{2}\d{6}[0-9A-HJ-NP-RTUWXY]{10}")
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id18_checksum_ok(value: str) -> bool:
    digits = value[:17]
    if len(value) != 18 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date(2100, 1, 1)


def normalise_id_number(value: str) -> str:
    """An ID number as written anywhere (spaces, dashes, dots, line breaks, full-width
    digits and Ｘ, Chinese numerals, invisible characters) as 18/15 plain characters."""
    from services.search.redaction.view import build
    norm = build(value or "").norm
    return re.sub(r"[^0-9A-Za-z]", "", norm).upper()


def birth_date(id_number: str) -> date | None:
    """The birth date an 18- or 15-digit ID number carries, if valid (any spacing)."""
    s = normalise_id_number(id_number)
    if len(s) == 18 and s[:17].isdigit():
        y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    elif len(s) == 15 and s.isdigit():
        y, m, d = 1900 + int(s[6:8]), int(s[8:10]), int(s[10:12])
    else:
        return None
    return date(y, m, d) if _valid_date(y, m, d) else None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def credit_code_ok(value: str) -> bool:
    """GB 32100-2015 统一社会信用代码: 18 characters, the last a check character."""
    if len(value) != 18 or not _CREDIT.fullmatch(value):
        return False
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(value, _CREDIT_WEIGHTS))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31] == value[17]


def org_code_ok(value: str) -> bool:
    """GB 11714 组织机构代码 (8 characters and a check character)."""
    if len(value) != 9 or not value[:8].isalnum():
        return False
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(value[:8], _ORG_WEIGHTS))
    check = 11 - total % 11
    return value[8] == {10: "X", 11: "0"}.get(check, str(check))


def registration_ok(value: str) -> bool:
    """15-digit 工商注册号 (GB/T 17710, ISO 7064 MOD 11,10 check digit)."""
    if len(value) != 15 or not value.isdigit():
        return False
    p = 10
    for c in value[:14]:
        s = (p + int(c)) % 10 or 10
        p = (s * 2) % 11
    return (p + int(value[14])) % 10 == 1


def id18_ok(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789Xx":
        return False
    return id18_checksum_ok(value) or birth_date(value) is not None


def id15_ok(value: str) -> bool:
    # 15-digit numbers were issued to people born in 19xx; nobody born before 1920 is a party now
    return len(value) == 15 and value.isdigit() and value[6:8] >= "20" and birth_date(value) is not None


def mobile_ok(value: str) -> bool:
    for prefix in ("0086", "86", ""):
        if value.startswith(prefix):
            rest = value[len(prefix):]
            if len(rest) == 11 and rest.isdigit() and rest[0] == "1" and rest[1] in "3456789":
                return True
    return False


def landline_ok(value: str) -> bool:
    """Area code (010, 02x, 0xxx; or 86 and the code without its 0) and a 7- or 8-digit local number."""
    if value[:2] == "86" and value[2:3] != "0" and len(value) >= 11:
        value = "0" + value[2:]
    if not value.isdigit() or value[:1] != "0" or value[:2] == "00":
        return False
    area = 3 if value[1] in "12" else 4
    local = value[area:]
    return len(local) in (7, 8) and local[0] in "23456789"


def card_ok(value: str) -> bool:
    return value.isdigit() and 15 <= len(value) <= 19 and luhn_ok(value) and value[0] in "3456789"


# A separator inside a run: spaces, dashes, dots, slashes of a copied PDF.
SEP = r"(?:[ \t\u3000\r\n]{1,4}|[ \t\u3000\r\n]{0,3}[-‐‑‒–—―−.·•・_()][ \t\u3000\r\n]{0,3})"
RUN = re.compile(r"[0-9A-Za-z]+(?:" + SEP + r"[0-9A-Za-z]+)*")
GROUP = re.compile(r"[0-9A-Za-z]+")
