"""Documents that cannot be true, and documents that are late.

`check` refuses (Problem 422 "impossible-dates") a document whose dates
contradict each other or the law — an extension notified after the period it
extends ran out, a decision taken after its statutory period without a
recorded extension, an order whose deadline passed before it was issued — and
returns warnings where the law allows lateness but attaches a consequence
(a supplement notice after art. 32's five days: the application counts as
accepted on receipt). Periods are counted by `deadlines` (one counting code).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.dates import chinese_date, parse_iso_date
from shared.problems import FieldError, Problem

from .deadlines import MAX_EXCLUDED_DAYS, RULES, Rule, counted, excluded_days
from .rules import non_acceptance_grounds
from .workdays import WorkdayCalendar

__all__ = ["check"]

_XUKE_42 = "《中华人民共和国行政许可法》第四十二条"
_XUKE_32 = "《中华人民共和国行政许可法》第三十二条"
_CHUFA_60 = "《中华人民共和国行政处罚法》第六十条"


@dataclass(frozen=True)
class _Order:
    """`later` must not be before `earlier` (both dotted paths into data; "issued_on" is the issue date)."""
    earlier: str
    later: str
    earlier_label: str
    later_label: str


# Dates that follow one another in every case that has both.
_ORDERS = (
    _Order("application.received_on", "application.accepted_on", "收到申请材料之日", "受理申请之日"),
    _Order("application.received_on", "issued_on", "收到申请材料之日", "本文书的印发日期"),
    _Order("application.accepted_on", "decision.date", "受理申请之日", "作出决定之日"),
    _Order("application.accepted_on", "extension.approved_on", "受理申请之日", "批准延期之日"),
    _Order("filing.received_on", "case.filed_on", "发现或收到案件线索之日", "立案之日"),
    _Order("case.filed_on", "decision.date", "立案之日", "作出决定之日"),
    _Order("case.filed_on", "extension.approved_on", "立案之日", "批准延期之日"),
    _Order("case.filed_on", "review.submitted_on", "立案之日", "提交法制审核之日"),
    _Order("review.submitted_on", "review.reviewed_on", "提交法制审核之日", "法制审核之日"),
    _Order("decision.date", "decision.valid_from", "作出准予许可决定之日", "许可有效期起始日"),
    _Order("decision.valid_from", "decision.valid_to", "许可有效期起始日", "许可有效期截止日"),
    _Order("decision.date", "issued_on", "作出决定之日", "本文书的印发日期"),
    _Order("hearing.requested_on", "issued_on", "当事人申请听证之日", "本听证通知书的印发日期"),
    _Order("hearing.requested_on", "hearing.date", "当事人申请听证之日", "举行听证之日"),
    _Order("issued_on", "rectification.deadline", "本责令改正通知书的印发日期", "改正期限"),
)


def _path(dotted: str) -> str:
    return "data/" + dotted.replace(".", "/")


def _get(data: dict, dotted: str, issued_on: date) -> date | None:
    if dotted == "issued_on":
        return issued_on
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return parse_iso_date(node)


class _Findings:
    def __init__(self) -> None:
        self.refusals: list[FieldError] = []
        self.warnings: list[dict] = []

    def refuse(self, dotted: str, message: str) -> None:
        self.refusals.append(FieldError(_path(dotted), message))

    def warn(self, code: str, dotted: str, message: str) -> None:
        self.warnings.append({"code": code, "path": _path(dotted), "message": message})


def _within(rule: Rule, start: date, day: date, calendar: WorkdayCalendar,
            excluded: frozenset[date] = frozenset()) -> tuple[bool, date | None]:
    """(whether `day` falls on or before the last day of `rule` counted from `start`, that last day).

    A day before the first year without a holiday schedule is within any period
    that reaches that year; otherwise such a year refuses, naming rule.start's field.
    """
    due, _, unpublished = counted(rule, start, calendar, excluded)
    if unpublished is not None and day < date(unpublished, 1, 1):
        return True, None
    return day <= due, due


def _check_orders(data: dict, issued_on: date, found: _Findings) -> None:
    for order in _ORDERS:
        earlier = _get(data, order.earlier, issued_on)
        later = _get(data, order.later, issued_on)
        if earlier and later and later < earlier:
            found.refuse(order.later, f"{order.later_label}（{chinese_date(later)}）早于{order.earlier_label}"
                                      f"（{chinese_date(earlier)}），日期先后顺序不可能成立，请核对。")


def _check_excluded_periods(data: dict, issued_on: date, found: _Findings) -> None:
    """许可法 art. 45 periods: each within the handling of the application, in order, and bounded."""
    accepted = _get(data, "application.accepted_on", issued_on)
    decided = _get(data, "decision.date", issued_on) or issued_on
    for i, item in enumerate(data.get("excluded_periods") or []):
        if not isinstance(item, dict):
            continue
        first, last = parse_iso_date(item.get("started_on")), parse_iso_date(item.get("ended_on"))
        here = f"excluded_periods.{i}"
        if first and last and last < first:
            found.refuse(f"{here}.ended_on", f"结束日期（{chinese_date(last)}）早于开始日期（{chinese_date(first)}）。")
        elif first and last and (last - first).days > MAX_EXCLUDED_DAYS:
            found.refuse(f"{here}.ended_on", f"不计算的期间超过{MAX_EXCLUDED_DAYS}日，请核对日期。")
        if first and accepted and first < accepted:
            found.refuse(f"{here}.started_on", f"开始日期（{chinese_date(first)}）早于受理申请之日（{chinese_date(accepted)}）："
                                               f"只有受理后依法需要的{item.get('kind') or '该事项'}所需时间才不计算在期限内。")
        if last and last > decided and data.get("decision"):
            found.refuse(f"{here}.ended_on", f"结束日期（{chinese_date(last)}）晚于作出决定之日（{chinese_date(decided)}）。")


def _check_extension_notice(data: dict, issued_on: date, calendar: WorkdayCalendar, found: _Findings) -> None:
    accepted = _get(data, "application.accepted_on", issued_on)
    approved = _get(data, "extension.approved_on", issued_on)
    if approved and approved > issued_on:
        found.refuse("extension.approved_on",
                     f"批准延期之日（{chinese_date(approved)}）晚于本延期通知书的印发日期（{chinese_date(issued_on)}）："
                     f"延期须先经本行政机关负责人批准，再告知申请人（{_XUKE_42}）。")
    if accepted is None:
        return
    in_time, due = _within(RULES["license_decision"], accepted, issued_on, calendar, excluded_days(data))
    if not in_time:
        found.refuse("issued_on",
                     f"本延期通知书印发于{chinese_date(issued_on)}，已超过自受理之日（{chinese_date(accepted)}）起二十个工作日"
                     f"（{chinese_date(due)}届满）：只有在二十日内不能作出决定时，才可以经批准延长十日并告知申请人"
                     f"（{_XUKE_42}），期限届满后不能再延期。")


def _check_supplement_notice(data: dict, issued_on: date, calendar: WorkdayCalendar, found: _Findings) -> None:
    received = _get(data, "application.received_on", issued_on)
    if received is None or issued_on < received:
        return
    in_time, due = _within(RULES["license_supplement_notice"], received, issued_on, calendar)
    if not in_time:
        found.warn("supplement-notice-late", "issued_on",
                   f"本补正通知书印发于{chinese_date(issued_on)}，已超过自收到申请材料之日（{chinese_date(received)}）起五个工作日"
                   f"（{chinese_date(due)}届满）。依照{_XUKE_32}，逾期不告知的，自收到申请材料之日起即为受理："
                   f"该申请已于{chinese_date(received)}视为受理，作出决定的期限自该日起算。")


def _check_license_decision(data: dict, issued_on: date, calendar: WorkdayCalendar, found: _Findings) -> None:
    accepted = _get(data, "application.accepted_on", issued_on)
    decided = _get(data, "decision.date", issued_on)
    if accepted is None or decided is None or decided < accepted:
        return
    extension = data.get("extension")
    if not isinstance(extension, dict):
        in_time, due = _within(RULES["license_decision"], accepted, decided, calendar, excluded_days(data))
        if not in_time:
            found.refuse("decision.date",
                         f"作出决定之日（{chinese_date(decided)}）已超过自受理之日（{chinese_date(accepted)}）起二十个工作日"
                         f"（{chinese_date(due)}届满），且未载明延期（{_XUKE_42}）。如经本行政机关负责人批准延长十日，"
                         "请在 extension 中填写批准日期和理由。")
        return
    approved = _get(data, "extension.approved_on", issued_on)
    if approved is None:
        found.refuse("extension.approved_on", f"载明延期的，须填写本行政机关负责人批准延期的日期（{_XUKE_42}）。")
    elif approved >= accepted:
        in_time, due = _within(RULES["license_decision"], accepted, approved, calendar, excluded_days(data))
        if not in_time:
            found.refuse("extension.approved_on",
                         f"批准延期之日（{chinese_date(approved)}）已超过自受理之日起二十个工作日（{chinese_date(due)}届满）："
                         f"延期须在二十日内批准（{_XUKE_42}）。")
    in_time, due = _within(RULES["license_decision_extended"], accepted, decided, calendar, excluded_days(data))
    if not in_time:
        found.refuse("decision.date",
                     f"作出决定之日（{chinese_date(decided)}）已超过延长后的期限，即自受理之日（{chinese_date(accepted)}）"
                     f"起三十个工作日（{chinese_date(due)}届满）（{_XUKE_42}）。")


# 处罚法 art. 60 lets "法律、法规、规章另有规定" set other periods; the rule the bureau applies
# (《市场监督管理行政处罚程序规定》第六十四条, the practice of market-supervision and approval
# bureaus) allows one extension of at most 30 days approved by the agency's head; a longer one
# needs the heads' collective decision (集体讨论决定), which then sets a reasonable period.
PENALTY_EXTENSION_DAYS = 30
_EXTENSION_RULE = ("《市场监督管理行政处罚程序规定》第六十四条：因案情复杂或者其他原因，不能在规定期限内作出处理决定的，"
                   "经负责人批准，可以延长三十日；经延期仍不能作出处理决定的，应当由负责人集体讨论决定是否继续延期")


def _check_penalty_decision(data: dict, issued_on: date, calendar: WorkdayCalendar, found: _Findings) -> None:
    filed = _get(data, "case.filed_on", issued_on)
    decided = _get(data, "decision.date", issued_on)
    if filed is None or decided is None or decided < filed:
        return
    in_time, due = _within(RULES["penalty_decision"], filed, decided, calendar)
    extension = data.get("extension")
    if not isinstance(extension, dict):
        if not in_time:
            found.refuse("decision.date",
                         f"作出处罚决定之日（{chinese_date(decided)}）已超过自立案之日（{chinese_date(filed)}）起九十日"
                         f"（{chinese_date(due)}届满）（{_CHUFA_60}）。如依法经批准延长办案期限，请在 extension 中"
                         "填写延期依据的条款、批准日期、批准人、理由和延长至的日期。")
        return
    # A printed extension carries its basis and its approval, whether or not the decision needed it.
    for key, label in (("provision", "延长办案期限所依据的法律、法规、规章条款"), ("approved_on", "批准延长之日"),
                       ("approved_by", "批准人（本机关负责人）"), ("reason", "延长理由"), ("until", "延长至的日期")):
        value = extension.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            found.refuse(f"extension.{key}", f"延长办案期限须载明{label}（{_CHUFA_60}：法律、法规、规章另有规定的，"
                                             f"从其规定；{_EXTENSION_RULE}）。")
    if due is None:
        return
    approved = _get(data, "extension.approved_on", issued_on)
    if approved and approved > due:
        found.refuse("extension.approved_on",
                     f"批准延长之日（{chinese_date(approved)}）已超过自立案之日起九十日（{chinese_date(due)}届满）："
                     f"办案期限届满前才能批准延长（{_CHUFA_60}）。")
    until = _get(data, "extension.until", issued_on)
    if until and until <= due:
        found.refuse("extension.until",
                     f"延长至的日期（{chinese_date(until)}）不晚于原办案期限（{chinese_date(due)}届满），不构成延长。")
    elif until and (until - due).days > PENALTY_EXTENSION_DAYS and not _get(data, "extension.collective_decision_on",
                                                                              issued_on):
        found.refuse("extension.until",
                     f"延长至{chinese_date(until)}，超过原办案期限（{chinese_date(due)}届满）{(until - due).days}日："
                     f"经负责人批准最多延长{PENALTY_EXTENSION_DAYS}日；更长的延期须经本机关负责人集体讨论决定，"
                     f"请填写 extension.collective_decision_on（{_EXTENSION_RULE}）。")
    if until and decided > until:
        found.refuse("decision.date",
                     f"作出处罚决定之日（{chinese_date(decided)}）晚于批准延长至的日期（{chinese_date(until)}），"
                     f"已超过办案期限（{_CHUFA_60}）。")


def _check_non_acceptance(data: dict, issued_on: date, calendar: WorkdayCalendar, found: _Findings) -> None:
    grounds = non_acceptance_grounds(data)
    received = _get(data, "application.received_on", issued_on)
    if not grounds or received is None or issued_on == received:
        return
    item = "（一）" if grounds == {1} else "（二）"
    found.warn("non-acceptance-not-immediate", "issued_on",
               f"依照{_XUKE_32}第一款第{item}项，不予受理应当在收到申请时即时作出；本决定书印发于{chinese_date(issued_on)}，"
               f"晚于收到申请材料之日（{chinese_date(received)}）。请核对印发日期，并在案卷中说明未即时作出的原因。")


_BY_TYPE = {
    "license_non_acceptance_decision": _check_non_acceptance,
    "license_extension_notice": _check_extension_notice,
    "license_supplement_notice": _check_supplement_notice,
    "license_grant_decision": _check_license_decision,
    "license_denial_decision": _check_license_decision,
    "penalty_decision": _check_penalty_decision,
}


def check(doc_type: str, data: dict, issued_on: date, calendar: WorkdayCalendar) -> list[dict]:
    """Warnings [{"code", "path", "message"}] for lateness the law allows.

    Raises Problem 422 "impossible-dates" naming every field whose date cannot
    be true. A period reaching a year without a published holiday schedule is counted
    provisionally (deadlines.counted), never refused
    when a period must be counted into a year without a holiday schedule.
    """
    data = data if isinstance(data, dict) else {}
    found = _Findings()
    _check_orders(data, issued_on, found)
    if isinstance(data.get("excluded_periods"), list):
        _check_excluded_periods(data, issued_on, found)
    if not found.refusals and doc_type in _BY_TYPE:
        _BY_TYPE[doc_type](data, issued_on, calendar, found)
    if found.refusals:
        raise Problem(422, "impossible-dates", "文书日期与法定期限或先后顺序不符",
                      "文书所载日期相互矛盾或已超过法定期限，按此制作的文书不能成立，请按 errors 中列出的字段核对后重试。",
                      found.refusals)
    return found.warnings
