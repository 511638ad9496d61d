"""The rules of publishing (DOMAIN.md, "Publishing decisions"): what must not
be published at all, how long a decision stays up, and the 双公示 field sets.
Pure functions over a validated request body.
"""
from __future__ import annotations

import re
from datetime import date

from services.search.redaction import birth_date, minor_evidence, normalise_id_number
from shared.problems import FieldError, Problem

WARNING_ONLY = {"警告", "通报批评"}          # market-supervision practice: not published
SECRET_MARKS = re.compile(r"(绝密|机密|秘密)\s*[★☆*]")
CONFIDENTIALITY = {"state_secret": "涉及国家秘密", "trade_secret": "涉及商业秘密", "personal_privacy": "涉及个人隐私"}
# Sectors whose penalties stay up at least a year (信用修复管理办法).
LONG_MINIMUM_SECTORS = {"special_equipment": "特种设备", "work_safety": "安全生产", "fire": "消防"}
PARTY_CATEGORIES = {"organization": "法人及非法人组织", "person": "自然人", "individual_business": "个体工商户"}


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def refusals(body: dict) -> list[FieldError]:
    """Why this decision must not be published at all (empty: it may be)."""
    errors = []
    party = body.get("party") or {}
    decided = date.fromisoformat(body["decided_on"])
    if body.get("kind") == "penalty":
        kinds = {p.get("kind", "").strip() for p in body.get("penalties") or []}
        if kinds and kinds <= WARNING_ONLY:
            errors.append(FieldError("penalties", "仅给予警告（或通报批评）的行政处罚决定不予公示。"))
    person = party.get("kind") == "person"
    # The ID as clerks type it (spaces, dashes, full width, a line break) still tells the age.
    born = birth_date(normalise_id_number(party.get("id_number") or "")) if person else None
    if party.get("minor") or (born and add_months(born, 18 * 12) > decided):
        errors.append(FieldError("party", "当事人为未成年人，该决定不予公示。"))
    elif person:
        for name in ("title", "summary", "content", "text"):
            reason = minor_evidence(body.get(name) or "", decided, party.get("name", ""))
            if reason:
                errors.append(FieldError(name, f"{reason}该决定不予公示。"))
                break
    secrecy = body.get("confidentiality", "none")
    if secrecy in CONFIDENTIALITY:
        errors.append(FieldError("confidentiality", f"决定的主要内容{CONFIDENTIALITY[secrecy]}，不予公示。"))
    for name in ("title", "summary", "content", "text"):
        if SECRET_MARKS.search(body.get(name) or ""):
            errors.append(FieldError(name, "文本带有密级标志，不予公示。"))
    return errors


def not_publishable(errors: list[FieldError]) -> Problem:
    return Problem(422, "not-publishable", "该决定不予公示",
                   "按照行政执法公示的规定，该决定不得向社会公开：" + "；".join(e.message for e in errors), errors)


def period(body: dict) -> tuple[date | None, date | None, date]:
    """(earliest, latest, default) publish_until for the decision's kind."""
    decided = date.fromisoformat(body["decided_on"])
    if body.get("kind") == "penalty":
        minimum = 12 if body.get("sector") in LONG_MINIMUM_SECTORS else 3
        latest = add_months(decided, 36)
        return add_months(decided, minimum), latest, latest
    valid_to = (body.get("license") or {}).get("valid_to")
    default = date.fromisoformat(valid_to) if body.get("kind") == "license" and valid_to else add_months(decided, 36)
    return None, None, default


def publish_until(body: dict, today: date) -> tuple[date | None, list[FieldError]]:
    earliest, latest, default = period(body)
    given = body.get("publish_until")
    until = date.fromisoformat(given) if given else default
    errors = []
    if earliest and until < earliest:
        errors.append(FieldError("publish_until", f"行政处罚信息公示期不得少于{_months(body)}，最早截止于 {earliest}。"))
    if latest and until > latest:
        errors.append(FieldError("publish_until", f"行政处罚信息公示期最长三年，最晚截止于 {latest}。"))
    if until < today:
        errors.append(FieldError("publish_until", f"公示截止日期 {until} 已过，无需公示。"))
    return until, errors


def _months(body: dict) -> str:
    sector = LONG_MINIMUM_SECTORS.get(body.get("sector", ""))
    return f"一年（{sector}领域）" if sector else "三个月"


def _wan(yuan: float) -> str:
    """Yuan as 万元 with up to six decimals (the 双公示 unit)."""
    return f"{yuan / 10000:.6f}".rstrip("0").rstrip(".") if yuan else "0"


def disclosure(body: dict, until: date) -> dict:
    """The 双公示 field set of the decision's kind, Chinese keys (export order)."""
    party = body.get("party") or {}
    organization = party.get("kind") != "person"
    common = {
        "相对人名称": party.get("name", ""),
        "相对人类别": PARTY_CATEGORIES.get(party.get("category") or party.get("kind", ""), ""),
        "统一社会信用代码": party.get("credit_code", "") if organization else "",
        "法定代表人": party.get("legal_representative", "") if organization else "",
    }
    if body["kind"] == "license":
        lic = body.get("license") or {}
        return {**common, "决定文书名称": body["title"], "决定文书号": body["number"],
                "许可类别": lic.get("category", "普通"), "许可证书名称": lic.get("certificate_name", ""),
                "许可编号": lic.get("number", ""), "许可内容": body.get("content", ""),
                "决定日期": body["decided_on"], "有效期自": lic.get("valid_from", ""),
                "有效期至": lic.get("valid_to", ""), "许可机关": body["agency"],
                "许可机关统一社会信用代码": body.get("agency_credit_code", ""),
                "数据来源单位": body.get("source_unit") or body["agency"]}
    if body["kind"] == "penalty":
        penalties = body.get("penalties") or []
        fines = sum(p.get("amount_yuan") or 0 for p in penalties if p.get("kind") == "罚款")
        confiscated = body.get("confiscated_yuan") or sum(
            p.get("amount_yuan") or 0 for p in penalties if "没收" in p.get("kind", ""))
        return {**common, "决定书文号": body["number"], "违法行为类型": body.get("violation_type", ""),
                "违法事实": body.get("summary", ""), "处罚依据": "；".join(body.get("legal_basis") or []),
                "处罚类别": "、".join(dict.fromkeys(p.get("kind", "") for p in penalties)),
                "处罚内容": body.get("content", ""), "罚款金额（万元）": _wan(fines),
                "没收违法所得（万元）": _wan(confiscated),
                "暂扣或吊销证照名称及编号": body.get("revoked_license", ""), "决定日期": body["decided_on"],
                "处罚机关": body["agency"], "处罚机关统一社会信用代码": body.get("agency_credit_code", ""),
                "公示截止期": until.isoformat(), "数据来源单位": body.get("source_unit") or body["agency"]}
    return {**common, "决定文书名称": body["title"], "决定文书号": body["number"],
            "决定内容": body.get("content", ""), "决定日期": body["decided_on"], "决定机关": body["agency"],
            "公示截止期": until.isoformat()}


LICENSE_FIELDS = list(disclosure({"kind": "license", "title": "", "number": "", "decided_on": "", "agency": ""},
                                 date.min))
PENALTY_FIELDS = list(disclosure({"kind": "penalty", "title": "", "number": "", "decided_on": "", "agency": ""},
                                 date.min))
OTHER_FIELDS = list(disclosure({"kind": "other", "title": "", "number": "", "decided_on": "", "agency": ""},
                               date.min))
EXPORT_FIELDS = {"license": LICENSE_FIELDS, "penalty": PENALTY_FIELDS, "other": OTHER_FIELDS}
