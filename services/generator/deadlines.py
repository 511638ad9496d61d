"""Statutory deadlines (法定期限) printed on and returned with a document.

Each rule in `RULES` says how long a period is, in which unit, from which date
of the case data it runs, and which article it rests on. The rule ids are a
contract used by the document types; keep them stable.

Counting (民法典 art. 201; 行政许可法 art. 82; 行政处罚法 art. 85):
- the start day is not counted; a period of n working days ends on the n-th
  working day after the start date, following the State Council's holiday
  schedule (调休 weekend days are working days);
- calendar-day and month periods end on the n-th day / the corresponding day
  of the n-th month (the month's last day when it has no such day); when that
  last day is a rest day the period ends on the first working day after it
  (民法典 art. 203);
- a period that reaches a year whose holiday schedule the State Council has
  not yet published is never refused (a bureau's work cannot wait for it):
  it is counted on the holidays the law itself fixes (workdays.statutory_holidays)
  and weekends, marked `provisional`, printed with a note, and the document is
  flagged in the registry (warning "provisional-calendar") for review once
  the schedule is loaded. Such a count can only end later than, or on, the
  day the published schedule will give when that schedule adds no 调休
  workday before the due date; a 调休 Saturday can make it one day late,
  which the review catches. Calendar-day periods only need to know whether
  their last day is a rest day.
"""
from __future__ import annotations

import calendar as _stdcal
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Callable

from shared.dates import chinese_date, parse_iso_date
from shared.problems import FieldError, invalid

from .penalties import is_warning_only
from .workdays import CalendarUnavailable, WorkdayCalendar

__all__ = [
    "Deadline",
    "Rule",
    "RULES",
    "WORKING_DAYS",
    "CALENDAR_DAYS",
    "MONTHS",
    "compute_deadlines",
    "due_date",
    "due_date_from_field",
    "counted",
    "PROVISIONAL_NOTE",
    "start_label",
    "imposes_payment",
    "grants_hearing_right",
]

WORKING_DAYS = "working_days"
CALENDAR_DAYS = "calendar_days"
MONTHS = "months"

ISSUED_ON = "issued_on"   # the document's own issue date, passed separately

# What each start date is, for messages.
_START_LABELS = {
    ISSUED_ON: "本文书的印发日期",
    "application.received_on": "收到申请材料之日",
    "application.accepted_on": "受理申请之日",
    "decision.date": "作出决定之日",
    "case.filed_on": "立案之日",
}


def start_label(start: str) -> str:
    """What a start field is, in Chinese ("application.accepted_on" -> "受理申请之日")."""
    return _START_LABELS.get(start, "起算日期")

_ROLL_BASIS = "《中华人民共和国民法典》第二百零三条：期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日"


PROVISIONAL_NOTE = "（暂按法定节假日计算）"


@dataclass(frozen=True)
class Deadline:
    key: str
    name: str        # Chinese
    due_on: date
    basis: str       # Chinese, cites the article
    provisional: bool = False   # counted without the State Council's schedule for some year

    def as_dict(self) -> dict:
        out = {"name": self.name, "due_on": self.due_on.isoformat(), "basis": self.basis, "key": self.key}
        if self.provisional:
            out["provisional"] = True
        return out

    def printed(self) -> str:
        return chinese_date(self.due_on) + (PROVISIONAL_NOTE if self.provisional else "")


def provisional_basis(years: list[int]) -> str:
    listed = "、".join(f"{y}年" for y in years)
    return (f"{listed}的节假日安排尚未由国务院公布，本期限暂按《全国年节及纪念日放假办法》规定的法定节假日和周末计算，"
            "不含调休；该年度安排公布后由本机关复核。")


def imposes_payment(data: dict) -> bool:
    """The decision orders the party to pay: some penalty (fine, confiscation) has an amount above zero."""
    penalties = (data.get("decision") or {}).get("penalties") if isinstance(data.get("decision"), dict) else None
    return any(isinstance(p, dict) and _positive(p.get("amount_yuan")) for p in penalties or [])


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def published(data: dict) -> bool:
    """The decision is published: a warning-only penalty is not (market-supervision practice, DOMAIN.md)."""
    return not is_warning_only(data)


def grants_hearing_right(data: dict) -> bool:
    """The notice tells the party it may request a hearing (penalty_prior_notice's hearing_right)."""
    return data.get("hearing_right") is True


@dataclass(frozen=True)
class Rule:
    name: str        # Chinese
    length: int
    unit: str        # WORKING_DAYS | CALENDAR_DAYS | MONTHS
    start: str       # "issued_on" or a dotted path into data, e.g. "application.received_on"
    basis: str       # Chinese
    # The period exists only for documents that give the right or impose the
    # duty it limits; None means always.
    applies: Callable[[dict], bool] | None = None
    # 许可法 art. 45: periods recorded in data.excluded_periods are not counted.
    pausable: bool = False

    def applies_to(self, data: dict) -> bool:
        return self.applies is None or bool(self.applies(data or {}))

    @property
    def start_path(self) -> str:
        """The start field as an error path, e.g. "data/application/received_on"."""
        return _path_of(self.start)


_XUKE_82 = "第八十二条：本法规定的行政机关实施行政许可的期限以工作日计算，不含法定节假日"
_CHUFA_85 = "第八十五条：本法中“二日”“三日”“五日”“七日”的规定是指工作日，不含法定节假日"
_GUOBAN_118 = "《国务院办公厅关于全面推行行政执法公示制度执法全过程记录制度重大执法决定法制审核制度的指导意见》（国办发〔2018〕118号）"

RULES: dict[str, Rule] = {
    "license_supplement_notice": Rule(
        name="一次性告知补正材料期限",
        length=5, unit=WORKING_DAYS, start="application.received_on",
        basis="《中华人民共和国行政许可法》第三十二条：申请材料不齐全或者不符合法定形式的，应当当场或者在五日内"
              "一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请材料之日起即为受理；" + _XUKE_82 + "。",
    ),
    "license_decision": Rule(
        name="作出行政许可决定期限",
        length=20, unit=WORKING_DAYS, start="application.accepted_on",
        basis="《中华人民共和国行政许可法》第四十二条：除可以当场作出行政许可决定的外，行政机关应当自受理行政许可申请"
              "之日起二十日内作出行政许可决定；" + _XUKE_82 + "。自受理之日起算。",
        pausable=True,
    ),
    "license_decision_extended": Rule(
        name="延长后作出行政许可决定期限",
        length=30, unit=WORKING_DAYS, start="application.accepted_on",
        basis="《中华人民共和国行政许可法》第四十二条：二十日内不能作出决定的，经本行政机关负责人批准，可以延长十日，"
              "并应当将延长期限的理由告知申请人；" + _XUKE_82 + "。自受理之日起算，共三十日。",
        pausable=True,
    ),
    "license_certificate_delivery": Rule(
        name="颁发、送达行政许可证件期限",
        length=10, unit=WORKING_DAYS, start="decision.date",
        basis="《中华人民共和国行政许可法》第四十四条：行政机关作出准予行政许可的决定，应当自作出决定之日起十日内"
              "向申请人颁发、送达行政许可证件；" + _XUKE_82 + "。",
    ),
    "license_hearing_request": Rule(
        name="申请听证期限",
        length=5, unit=WORKING_DAYS, start=ISSUED_ON,
        basis="《中华人民共和国行政许可法》第四十七条：申请人、利害关系人在被告知听证权利之日起五日内提出听证申请的，"
              "行政机关应当在二十日内组织听证；" + _XUKE_82 + "。法律自被告知之日起算，"
              "本期限按本告知书于印发当日送达计算，实际以送达回证载明的收到日期起算。",
    ),
    "penalty_hearing_request": Rule(
        name="申请听证期限",
        length=5, unit=WORKING_DAYS, start=ISSUED_ON,
        basis="《中华人民共和国行政处罚法》第六十四条：当事人要求听证的，应当在行政机关告知后五日内提出；"
              + _CHUFA_85 + "。法律自告知之日起算，本期限按本告知书于印发当日送达计算，"
              "实际以送达回证载明的收到日期起算。",
        applies=grants_hearing_right,
    ),
    "hearing_notice_lead": Rule(
        name="最早可举行听证日期",
        length=7, unit=WORKING_DAYS, start=ISSUED_ON,
        basis="《中华人民共和国行政处罚法》第六十四条：行政机关应当在举行听证的七日前，通知当事人及有关人员听证的时间、地点；"
              + _CHUFA_85 + "。",
    ),
    "penalty_decision": Rule(
        name="作出行政处罚决定期限",
        length=90, unit=CALENDAR_DAYS, start="case.filed_on",
        basis="《中华人民共和国行政处罚法》第六十条：行政机关应当自行政处罚案件立案之日起九十日内作出行政处罚决定。"
              "法律、法规、规章另有规定的，从其规定。",
    ),
    "penalty_fine_payment": Rule(
        name="缴纳罚款期限",
        length=15, unit=CALENDAR_DAYS, start=ISSUED_ON,
        basis="《中华人民共和国行政处罚法》第六十七条：当事人应当自收到行政处罚决定书之日起十五日内，到指定的银行或者"
              "通过电子支付系统缴纳罚款。本期限按决定书于印发当日送达计算，实际以送达回证载明的收到日期起算。",
        applies=imposes_payment,
    ),
    "publication_decision": Rule(
        name="执法决定信息公示期限",
        length=7, unit=WORKING_DAYS, start="decision.date",
        basis=_GUOBAN_118 + "：行政许可、行政处罚的执法决定信息要在执法决定作出之日起7个工作日内公开。",
        applies=published,
    ),
    "publication_other": Rule(
        name="执法决定信息公示期限",
        length=20, unit=WORKING_DAYS, start=ISSUED_ON,
        basis=_GUOBAN_118 + "：其他行政执法决定信息要在执法决定作出之日起20个工作日内公开。"
              "本决定书以印发之日为作出决定之日。",
    ),
    "withdrawal": Rule(
        name="撤下已公示决定信息期限",
        length=3, unit=WORKING_DAYS, start=ISSUED_ON,
        basis=_GUOBAN_118 + "：已公开的行政执法决定被依法撤销、确认违法或者要求重新作出的，应当及时从信息公示平台撤下"
              "原行政执法决定信息；本机关按作出变更、撤销决定之日起3个工作日内撤下并说明理由执行。"
              "以本文书印发之日为作出变更、撤销决定之日。",
    ),
}


def _add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, _stdcal.monthrange(year, month)[1])
    return date(year, month, day)


MAX_EXCLUDED_DAYS = 3 * 366   # bounds the cost of counting; longer pauses are refused (timeliness)
_XUKE_45 = "《中华人民共和国行政许可法》第四十五条"


def excluded_ranges(data: dict) -> list[tuple[str, date, date]]:
    """(kind, first day, last day) of each well-formed period in data.excluded_periods (许可法 art. 45)."""
    ranges = []
    for item in (data or {}).get("excluded_periods") or []:
        if not isinstance(item, dict):
            continue
        first, last = parse_iso_date(item.get("started_on")), parse_iso_date(item.get("ended_on"))
        if first and last and first <= last and (last - first).days <= MAX_EXCLUDED_DAYS:
            ranges.append((str(item.get("kind") or ""), first, last))
    return ranges


def excluded_days(data: dict) -> frozenset[date]:
    return frozenset(first + timedelta(days=i) for _, first, last in excluded_ranges(data)
                     for i in range((last - first).days + 1))


def due_date(rule: Rule, start: date, calendar: WorkdayCalendar,
             provisional: bool = False, excluded: frozenset[date] = frozenset()) -> tuple[date, date | None]:
    """(due date, the unmoved last day when it fell on a rest day, else None).

    Raises CalendarUnavailable when the period reaches a year without data,
    unless `provisional` (then such a year counts its statutory holidays).
    """
    if rule.unit == WORKING_DAYS:
        if not excluded:
            return calendar.add_workdays(start, rule.length, provisional), None
        day, remaining = start, rule.length
        while remaining:
            day += timedelta(days=1)
            if day not in excluded and calendar.is_workday(day, provisional):
                remaining -= 1
        return day, None
    if rule.unit == CALENDAR_DAYS:
        last = start + timedelta(days=rule.length)
    elif rule.unit == MONTHS:
        last = _add_months(start, rule.length)
    else:
        raise ValueError(f"unknown period unit {rule.unit!r}")
    due = calendar.next_workday_on_or_after(last, provisional)
    return due, (last if due != last else None)


def counted(rule: Rule, start: date, calendar: WorkdayCalendar,
            excluded: frozenset[date] = frozenset()) -> tuple[date, date | None, int | None]:
    """(due date, unmoved last day or None, the first year without a schedule when the count is provisional).
    `excluded` days (许可法 art. 45) are not counted when the rule is pausable."""
    excluded = excluded if rule.pausable else frozenset()
    try:
        return (*due_date(rule, start, calendar, excluded=excluded), None)
    except CalendarUnavailable as exc:
        try:
            return (*due_date(rule, start, calendar, provisional=True, excluded=excluded), exc.year)
        except CalendarUnavailable as again:   # a year before any schedule (or past the lunar tables)
            raise invalid([FieldError(rule.start_path,
                                      f"{start_label(rule.start)}（{chinese_date(start)}）所涉{again.year}年没有可用的"
                                      "工作日数据，无法计算期限，请核对该日期。")]) from None


def _lookup(data: dict, dotted: str):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _path_of(start: str) -> str:
    return "data/" + start.replace(".", "/")


def due_date_from_field(rule: Rule, start_on: date, calendar: WorkdayCalendar) -> date:
    """The due date of `rule` counted from `start_on` (the value of rule.start).

    Raises Problem "calendar-unavailable" naming rule.start's field when the
    period reaches a year without a holiday schedule.
    """
    return counted(rule, start_on, calendar)[0]


def compute_deadlines(
    rule_ids: list[str], data: dict, issued_on: date | None, calendar: WorkdayCalendar
) -> list[Deadline]:
    """The deadlines named by `rule_ids` that apply to `data`, in that order.

    A rule whose condition is false for `data` (e.g. no fine to pay, no
    hearing right given) is left out. Raises Problem 422 "validation-failed" naming every missing or malformed
    start date, and Problem 422 "calendar-unavailable" when a period reaches
    a year whose holiday schedule is not loaded. Unknown rule ids are a
    programming error (ValueError).
    """
    rules = []
    for rule_id in rule_ids:
        if rule_id not in RULES:
            raise ValueError(f"unknown deadline rule {rule_id!r}")
        if RULES[rule_id].applies_to(data):
            rules.append((rule_id, RULES[rule_id]))

    # 1. Every start date must be present and valid; report all at once.
    starts: dict[str, date] = {}
    needed_by: dict[str, list[str]] = {}
    bad: dict[str, str] = {}
    for _, rule in rules:
        path = rule.start_path
        needed_by.setdefault(path, [])
        if rule.name not in needed_by[path]:
            needed_by[path].append(rule.name)
        if path in starts or path in bad:
            continue
        raw = issued_on if rule.start == ISSUED_ON else _lookup(data or {}, rule.start)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            bad[path] = "missing"
            continue
        parsed = parse_iso_date(raw)
        if parsed is None:
            bad[path] = "malformed"
            continue
        starts[path] = parsed
    if bad:
        errors = []
        for path, why in bad.items():
            start = path.removeprefix("data/").replace("/", ".")
            label = start_label(start)
            names = "”“".join(needed_by[path])
            if why == "missing":
                msg = f"缺少{label}，无法计算“{names}”，请填写该日期（格式YYYY-MM-DD）。"
            else:
                msg = f"{label}不是有效日期，无法计算“{names}”，日期格式应为YYYY-MM-DD，例如2026-11-27。"
            errors.append(FieldError(path, msg))
        raise invalid(errors, "计算法定期限所需的起算日期缺失或有误，请按 errors 中列出的字段更正后重试。")

    # 2. Count the periods; a year without a published schedule is counted provisionally, never refused.
    deadlines: list[Deadline] = []
    for rule_id, rule in rules:
        start_on = starts[rule.start_path]
        due, moved_from, unpublished = counted(rule, start_on, calendar, excluded_days(data or {}))
        basis = rule.basis
        if rule.pausable and (ranges := excluded_ranges(data or {})):
            basis += (f"依照{_XUKE_45}，下列期间所需时间不计算在本期限内，期限相应顺延："
                      + "；".join(f"{kind}{chinese_date(first)}至{chinese_date(last)}" for kind, first, last in ranges)
                      + "。")
        if moved_from is not None:
            basis += (f"期间最后一日{chinese_date(moved_from)}为法定休假日，顺延至{chinese_date(due)}（{_ROLL_BASIS}）。")
        if unpublished is not None:
            basis += provisional_basis(list(range(unpublished, due.year + 1)))
        deadlines.append(Deadline(key=rule_id, name=rule.name, due_on=due, basis=basis,
                                  provisional=unpublished is not None))
    return deadlines
