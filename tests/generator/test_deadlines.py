"""Statutory deadlines on the 2025/2026 schedules recorded by chinese-calendar."""
import json
from datetime import date

import pytest

from services.generator.deadlines import (
    CALENDAR_DAYS,
    MONTHS,
    RULES,
    WORKING_DAYS,
    Deadline,
    Rule,
    compute_deadlines,
    due_date,
)
from services.generator.workdays import WorkdayCalendar
from shared.problems import Problem

CAL = WorkdayCalendar(None)

RULE_IDS = {
    "license_supplement_notice", "license_decision", "license_decision_extended",
    "license_certificate_delivery", "license_hearing_request", "penalty_hearing_request",
    "hearing_notice_lead", "penalty_decision", "penalty_fine_payment",
    "publication_decision", "publication_other", "withdrawal",
}


FINE = {"decision": {"penalties": [{"kind": "罚款", "amount_yuan": 20000}]}}


def one(rule_id, data=None, issued_on=None, calendar=CAL):
    result = compute_deadlines([rule_id], data or {}, issued_on, calendar)
    assert len(result) == 1 and result[0].key == rule_id
    return result[0]


def test_rule_ids_are_the_contract():
    assert set(RULES) == RULE_IDS


@pytest.mark.parametrize("rule_id, data, issued_on, due", [
    # 5 working days after receipt, 2026-09-28: 9-29, 9-30, 10-8, 10-9, 10-10 (调休 Saturday)
    ("license_supplement_notice", {"application": {"received_on": "2026-09-28"}}, None, date(2026, 10, 10)),
    # 20 working days after acceptance (NOTES.md fact), whatever day the notice is printed
    ("license_decision", {"application": {"accepted_on": "2026-09-28"}}, date(2026, 10, 9), date(2026, 10, 30)),
    # 30 working days after acceptance
    ("license_decision_extended", {"application": {"accepted_on": "2026-09-28"}}, None, date(2026, 11, 13)),
    # 10 working days after the decision
    ("license_certificate_delivery", {"decision": {"date": "2026-09-28"}}, None, date(2026, 10, 16)),
    ("license_hearing_request", {}, date(2026, 9, 28), date(2026, 10, 10)),
    # 2026-02-12: 2-13, 2-14 (调休 Saturday), 2-24, 2-25, 2-26
    ("penalty_hearing_request", {"hearing_right": True}, date(2026, 2, 12), date(2026, 2, 26)),
    # ... 2-27, 2-28 (调休 Saturday)
    ("hearing_notice_lead", {}, date(2026, 2, 12), date(2026, 2, 28)),
    # 90 calendar days after 2026-03-04 is Tuesday 2026-06-02
    ("penalty_decision", {"case": {"filed_on": "2026-03-04"}}, None, date(2026, 6, 2)),
    # 15 calendar days after 2026-09-05 is Sunday 2026-09-20, a 调休 workday: not moved
    ("penalty_fine_payment", FINE, date(2026, 9, 5), date(2026, 9, 20)),
    # 7 working days after 2026-09-30: 10-8, 10-9, 10-10, 10-12, 10-13, 10-14, 10-15
    ("publication_decision", {"decision": {"date": "2026-09-30"}}, None, date(2026, 10, 15)),
    ("publication_other", {}, date(2026, 9, 28), date(2026, 10, 30)),
    # 2026-04-30: May Day break 5-1..5-5; 5-6, 5-7, 5-8
    ("withdrawal", {}, date(2026, 4, 30), date(2026, 5, 8)),
])
def test_each_rule(rule_id, data, issued_on, due):
    d = one(rule_id, data, issued_on)
    assert d.due_on == due
    assert d.name == RULES[rule_id].name
    assert d.basis.startswith(RULES[rule_id].basis)


def test_rule_table_units_and_starts():
    assert (RULES["license_decision_extended"].length, RULES["license_decision_extended"].unit) == (30, WORKING_DAYS)
    assert RULES["penalty_decision"].unit == CALENDAR_DAYS
    assert RULES["penalty_fine_payment"].unit == CALENDAR_DAYS
    assert RULES["license_supplement_notice"].start_path == "data/application/received_on"
    assert RULES["license_decision"].start_path == "data/application/accepted_on"
    assert RULES["license_decision_extended"].start_path == "data/application/accepted_on"
    assert RULES["publication_decision"].start_path == "data/decision/date"
    assert RULES["penalty_decision"].start_path == "data/case/filed_on"
    assert "第三十二条" in RULES["license_supplement_notice"].basis
    assert "第八十二条" in RULES["license_supplement_notice"].basis
    assert "第六十四条" in RULES["penalty_hearing_request"].basis
    assert "第八十五条" in RULES["hearing_notice_lead"].basis
    assert "第六十条" in RULES["penalty_decision"].basis
    assert "国办发〔2018〕118号" in RULES["publication_decision"].basis
    assert "送达" in RULES["penalty_fine_payment"].basis


def test_calendar_day_period_ending_on_national_day_moves_to_next_working_day():
    # 2026-07-03 + 90 days = 2026-10-01 (National Day) → first working day after the break
    d = one("penalty_decision", {"case": {"filed_on": "2026-07-03"}})
    assert d.due_on == date(2026, 10, 8)
    assert "2026年10月1日" in d.basis and "顺延至2026年10月8日" in d.basis
    assert "第二百零三条" in d.basis


def test_calendar_day_period_ending_on_weekend_moves_to_monday():
    # 2026-03-06 + 15 days = Saturday 2026-03-21
    assert one("penalty_fine_payment", FINE, issued_on=date(2026, 3, 6)).due_on == date(2026, 3, 23)


def test_calendar_day_period_ending_in_spring_festival():
    # 2026-02-02 + 15 days = 2026-02-17 (Spring Festival) → 2026-02-24
    assert one("penalty_fine_payment", FINE, issued_on=date(2026, 2, 2)).due_on == date(2026, 2, 24)


def test_month_periods():
    six_months = Rule(name="测试", length=6, unit=MONTHS, start="issued_on", basis="测试")
    # 2025-08-19 + 6 months = Thursday 2026-02-19, inside Spring Festival → 2026-02-24
    assert due_date(six_months, date(2025, 8, 19), CAL) == (date(2026, 2, 24), date(2026, 2, 19))
    # no corresponding day → month end: 2025-08-31 + 6 months = 2026-02-28 (调休 Saturday, a workday)
    assert due_date(six_months, date(2025, 8, 31), CAL) == (date(2026, 2, 28), None)


def test_order_follows_rule_ids_and_as_dict():
    result = compute_deadlines(
        ["penalty_fine_payment", "penalty_hearing_request"], {**FINE, "hearing_right": True}, date(2026, 2, 12), CAL)
    assert [d.key for d in result] == ["penalty_fine_payment", "penalty_hearing_request"]
    assert result[1].as_dict() == {
        "name": RULES["penalty_hearing_request"].name,
        "due_on": "2026-02-26",
        "basis": RULES["penalty_hearing_request"].basis,
        "key": "penalty_hearing_request",
    }
    assert isinstance(result[0], Deadline)


def test_missing_start_fields_are_named():
    with pytest.raises(Problem) as exc:
        compute_deadlines(["license_supplement_notice", "license_decision", "penalty_decision", "withdrawal"],
                          {"application": {}, "case": "not an object"}, None, CAL)
    p = exc.value
    assert (p.status, p.type) == (422, "validation-failed")
    assert [e.path for e in p.errors] == [
        "data/application/received_on", "data/application/accepted_on", "data/case/filed_on", "data/issued_on"]
    assert "收到申请材料之日" in p.errors[0].message


def test_same_missing_field_reported_once():
    with pytest.raises(Problem) as exc:
        compute_deadlines(["penalty_hearing_request", "hearing_notice_lead"], {"hearing_right": True}, None, CAL)
    assert [e.path for e in exc.value.errors] == ["data/issued_on"]


@pytest.mark.parametrize("value", ["2026/11/27", "2026-02-30", "", "  ", 20261127, "20261127"])
def test_malformed_start_date(value):
    with pytest.raises(Problem) as exc:
        compute_deadlines(["penalty_decision"], {"case": {"filed_on": value}}, None, CAL)
    assert exc.value.type == "validation-failed"
    assert [e.path for e in exc.value.errors] == ["data/case/filed_on"]


def test_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError):
        compute_deadlines(["no_such_rule"], {}, date(2026, 3, 9), CAL)


def test_deadline_reaching_an_unpublished_year_is_counted_not_refused():
    # 2026-11-27 + 90 days = Thursday 2027-02-25; 2027's schedule is not published (chinese-calendar 1.11)
    d = one("penalty_decision", {"case": {"filed_on": "2026-11-27"}})
    assert d.due_on == date(2027, 2, 25) and d.provisional
    assert "2027年的节假日安排尚未由国务院公布" in d.basis and "法定节假日" in d.basis
    assert d.printed() == "2027年2月25日（暂按法定节假日计算）"
    assert d.as_dict()["provisional"] is True


def test_working_days_into_an_unpublished_year_skip_the_statutory_holidays():
    # 2026-12-30: 12-31 (1), 2027-01-01 元旦 (law), 01-04 (2), 01-05 (3)
    assert one("withdrawal", issued_on=date(2026, 12, 30)).due_on == date(2027, 1, 5)
    # 20 working days from 2026-12-10 end on 2027-01-08 (元旦 not counted)
    d = one("license_decision", {"application": {"accepted_on": "2026-12-10"}}, issued_on=date(2026, 12, 10))
    assert d.due_on == date(2027, 1, 8) and d.provisional


@pytest.mark.parametrize("start, length, expected", [
    # 春节 2027 by law: 除夕 02-05 and 正月初一至初三 02-06..02-08 (《全国年节及纪念日放假办法》, 2025 revision)
    (date(2027, 2, 1), 5, date(2027, 2, 10)),      # 02-02,03,04, (05 Fri 除夕 off), 08 Mon 初三 off, 09, 10
    (date(2027, 4, 30), 2, date(2027, 5, 4)),      # 05-01/02 劳动节 on a weekend, 05-03 (1), 05-04 (2)
    (date(2027, 9, 30), 1, date(2027, 10, 4)),     # 10-01..03 国庆 by law, 10-04 Monday
])
def test_provisional_count_follows_the_law_fixed_holidays(start, length, expected):
    rule = Rule(name="测试", length=length, unit=WORKING_DAYS, start="issued_on", basis="测试")
    assert due_date(rule, start, CAL, provisional=True)[0] == expected


def test_calendar_day_periods_only_roll_over_their_last_day():
    # 2026-10-05 + 90 days = Sunday 2027-01-03: the filing form of early October is issued, not refused;
    # 元旦 is fixed by law, so the last day rolls over to Monday 2027-01-04.
    d = one("penalty_decision", {"case": {"filed_on": "2026-10-05"}})
    assert d.due_on == date(2027, 1, 4) and d.provisional and "顺延" in d.basis
    # a fine payable from 2026-12-20: 15 days end Monday 2027-01-04, a working day by law
    paid = one("penalty_fine_payment", {"decision": {"penalties": [{"kind": "罚款", "amount_yuan": 100}]}},
               issued_on=date(2026, 12, 20))
    assert paid.due_on == date(2027, 1, 4)


def test_two_periods_reaching_an_unpublished_year_are_both_counted():
    data = {"decision": {"date": "2026-12-28"}}
    deadlines = compute_deadlines(["publication_decision", "withdrawal"], data, date(2026, 12, 29), CAL)
    assert [(d.key, d.provisional) for d in deadlines] == [("publication_decision", True), ("withdrawal", True)]


def test_operator_calendar_for_2027_makes_it_computable(tmp_path):
    path = tmp_path / "calendar.json"
    # Fictional schedule for the test only: Friday 2027-01-01 off.
    path.write_text(json.dumps({"years": {"2027": {"holidays": ["2027-01-01"], "workdays": []}}}))
    cal = WorkdayCalendar(path)
    # 2026-12-30: 12-31 (1), 2027-01-04 (2), 01-05 (3)
    assert one("withdrawal", issued_on=date(2026, 12, 30), calendar=cal).due_on == date(2027, 1, 5)
    # 2026-11-27 + 90 days = Thursday 2027-02-25, a working day in the fictional schedule
    assert one("penalty_decision", {"case": {"filed_on": "2026-11-27"}}, calendar=cal).due_on == date(2027, 2, 25)


def test_acceptance_and_extension_notices_of_one_case_agree():
    # The shipped example: accepted 2026-11-09, notice printed 2026-11-28 — the
    # 20 working days run from acceptance (art. 42), not from the printing.
    data = {"application": {"received_on": "2026-11-05", "accepted_on": "2026-11-09"}}
    decide = one("license_decision", data, issued_on=date(2026, 11, 28))
    extended = one("license_decision_extended", data, issued_on=date(2026, 12, 3))
    assert decide.due_on == date(2026, 12, 7)
    assert extended.due_on == CAL.add_workdays(decide.due_on, 10)


@pytest.mark.parametrize("penalties, expected", [
    ([{"kind": "罚款", "amount_yuan": 20000}], True),
    ([{"kind": "警告"}, {"kind": "没收违法所得", "amount_yuan": 0.01}], True),
    ([{"kind": "警告"}], False),
    ([{"kind": "罚款", "amount_yuan": 0}], False),
    ([{"kind": "吊销许可证件", "amount_yuan": None}], False),
    ([{"kind": "罚款", "amount_yuan": "5000"}], False),    # not a number: amount checks refuse it
    ([], False),
])
def test_fine_payment_deadline_only_when_something_is_to_be_paid(penalties, expected):
    data = {"decision": {"date": "2026-09-05", "penalties": penalties}}
    keys = [d.key for d in compute_deadlines(
        ["penalty_fine_payment", "publication_decision"], data, date(2026, 9, 5), CAL)]
    warning_only = bool(penalties) and all(p["kind"] == "警告" for p in penalties)
    assert keys == (["penalty_fine_payment"] if expected else []) + ([] if warning_only else ["publication_decision"])


@pytest.mark.parametrize("kinds, published", [
    (["警告"], False), (["通报批评"], False), (["警 告", "通报批评"], False), (["予以警告"], False),
    (["警告", "罚款"], True), (["责令停产停业"], True), (["吊销许可证件"], True),
])
def test_warning_only_decision_has_no_publication_deadline(kinds, published):
    """DOMAIN: warning-only penalties are not published, so no publication deadline is printed or returned."""
    data = {"decision": {"date": "2026-09-05", "penalties": [{"kind": k} for k in kinds]}}
    keys = [d.key for d in compute_deadlines(["publication_decision"], data, date(2026, 9, 5), CAL)]
    assert keys == (["publication_decision"] if published else [])


@pytest.mark.parametrize("hearing_right, expected", [(True, 1), (False, 0), (None, 0), ("true", 0)])
def test_hearing_request_deadline_only_when_the_right_is_given(hearing_right, expected):
    data = {} if hearing_right is None else {"hearing_right": hearing_right}
    assert len(compute_deadlines(["penalty_hearing_request"], data, date(2026, 2, 12), CAL)) == expected


def test_rule_that_does_not_apply_needs_no_start_date():
    # No fine: the (absent) issue date is not asked for.
    assert compute_deadlines(["penalty_fine_payment"], {"decision": {"penalties": []}}, None, CAL) == []


@pytest.mark.parametrize("filed_on", ["1900-03-01", "2003-12-30", "0001-01-01"])
def test_a_start_before_any_schedule_is_refused_naming_the_field_not_a_server_error(filed_on):
    with pytest.raises(Problem) as exc:
        compute_deadlines(["license_supplement_notice"], {"application": {"received_on": filed_on}}, None, CAL)
    assert exc.value.status == 422 and [e.path for e in exc.value.errors] == ["data/application/received_on"]
