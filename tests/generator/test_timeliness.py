"""Documents that cannot be true are refused; lateness the law allows is a warning."""
import json
from datetime import date

import pytest

from services.generator.timeliness import check
from services.generator.workdays import WorkdayCalendar
from shared.problems import Problem

CAL = WorkdayCalendar(None)
# Accepted Monday 2026-11-09: the 20th working day after it is 2026-12-07, the 30th 2026-12-21.
APPLICATION = {"item": "食品经营许可（餐饮服务）", "received_on": "2026-11-05", "accepted_on": "2026-11-09"}


def refused(doc_type, data, issued_on, calendar=CAL):
    with pytest.raises(Problem) as exc:
        check(doc_type, data, issued_on, calendar)
    assert exc.value.status == 422
    return exc.value


def paths(problem):
    return [e.path for e in problem.errors]


# --- extension notice -------------------------------------------------------------

def extension_notice(approved_on="2026-12-03"):
    return {"application": dict(APPLICATION), "extension": {"reason": "需组织专家评审", "approved_on": approved_on}}


@pytest.mark.parametrize("issued_on", [date(2026, 12, 3), date(2026, 12, 7)])
def test_extension_notified_within_twenty_working_days_passes(issued_on):
    assert check("license_extension_notice", extension_notice(), issued_on, CAL) == []


def test_extension_notified_after_the_twenty_days_ran_out_is_refused():
    p = refused("license_extension_notice", extension_notice("2026-12-07"), date(2026, 12, 8))
    assert p.type == "impossible-dates"
    assert paths(p) == ["data/issued_on"]
    assert "第四十二条" in p.errors[0].message and "2026年12月7日" in p.errors[0].message


def test_extension_approved_after_the_notice_is_refused():
    p = refused("license_extension_notice", extension_notice("2026-12-04"), date(2026, 12, 3))
    assert paths(p) == ["data/extension/approved_on"]
    assert "批准" in p.errors[0].message


def test_extension_approved_before_acceptance_is_refused():
    p = refused("license_extension_notice", extension_notice("2026-11-06"), date(2026, 11, 20))
    assert paths(p) == ["data/extension/approved_on"]
    assert "受理申请之日" in p.errors[0].message


def test_extension_check_reaching_an_unpublished_year_counts_the_statutory_holidays():
    # 20 working days from 2026-12-10 end 2027-01-08 on the law's holidays (2027 not yet published)
    data = {"application": {"received_on": "2026-12-10", "accepted_on": "2026-12-10"},
            "extension": {"reason": "复杂", "approved_on": "2026-12-30"}}
    assert check("license_extension_notice", data, date(2027, 1, 8), CAL) == []
    p = refused("license_extension_notice", data, date(2027, 1, 11))
    assert paths(p) == ["data/issued_on"] and "2027年1月8日" in p.errors[0].message


def test_extension_notice_in_december_needs_no_2027_schedule():
    # The 20 days reach into 2027, but a notice in 2026 is certainly inside them.
    data = {"application": {"received_on": "2026-12-10", "accepted_on": "2026-12-10"},
            "extension": {"reason": "复杂", "approved_on": "2026-12-30"}}
    assert check("license_extension_notice", data, date(2026, 12, 31), CAL) == []


# --- supplement notice --------------------------------------------------------------

def test_supplement_notice_within_five_working_days_has_no_warning():
    # Received Friday 2026-10-30: 11-2, 11-3, 11-4, 11-5, 11-6
    data = {"application": {"item": "x", "received_on": "2026-10-30"}}
    assert check("license_supplement_notice", data, date(2026, 11, 6), CAL) == []


def test_late_supplement_notice_warns_that_the_application_counts_as_accepted():
    data = {"application": {"item": "x", "received_on": "2026-10-30"}}
    warnings = check("license_supplement_notice", data, date(2026, 11, 9), CAL)
    assert [(w["code"], w["path"]) for w in warnings] == [("supplement-notice-late", "data/issued_on")]
    assert "即为受理" in warnings[0]["message"] and "第三十二条" in warnings[0]["message"]
    assert "2026年10月30日" in warnings[0]["message"]


def test_supplement_notice_across_national_day_counts_working_days():
    # Received 2026-09-30: 10-8, 10-9, 10-10 (调休 Saturday), 10-12, 10-13
    data = {"application": {"item": "x", "received_on": "2026-09-30"}}
    assert check("license_supplement_notice", data, date(2026, 10, 13), CAL) == []
    assert len(check("license_supplement_notice", data, date(2026, 10, 14), CAL)) == 1


# --- rectification order -----------------------------------------------------------

@pytest.mark.parametrize("deadline, ok", [("2026-09-03", False), ("2026-09-04", True), ("2026-09-25", True)])
def test_rectification_deadline_not_before_the_order(deadline, ok):
    data = {"rectification": {"requirement": "办理变更登记", "deadline": deadline}}
    if ok:
        assert check("rectification_order", data, date(2026, 9, 4), CAL) == []
    else:
        assert paths(refused("rectification_order", data, date(2026, 9, 4))) == ["data/rectification/deadline"]


# --- license decisions --------------------------------------------------------------

def license_decision(decided, extension=None):
    data = {"application": dict(APPLICATION), "decision": {"date": decided}}
    if extension is not None:
        data["extension"] = extension
    return data


@pytest.mark.parametrize("doc_type", ["license_grant_decision", "license_denial_decision"])
def test_license_decision_on_the_twentieth_working_day_passes(doc_type):
    assert check(doc_type, license_decision("2026-12-07"), date(2026, 12, 7), CAL) == []


@pytest.mark.parametrize("doc_type", ["license_grant_decision", "license_denial_decision"])
def test_license_decision_after_twenty_working_days_without_extension_refused(doc_type):
    p = refused(doc_type, license_decision("2026-12-08"), date(2026, 12, 8))
    assert paths(p) == ["data/decision/date"]
    assert "二十个工作日" in p.errors[0].message and "extension" in p.errors[0].message


def test_license_decision_with_recorded_extension_has_thirty_working_days():
    extension = {"approved_on": "2026-12-03", "reason": "需现场核查"}
    assert check("license_grant_decision", license_decision("2026-12-21", extension), date(2026, 12, 21), CAL) == []
    p = refused("license_grant_decision", license_decision("2026-12-22", extension), date(2026, 12, 22))
    assert paths(p) == ["data/decision/date"] and "三十个工作日" in p.errors[0].message


def test_extension_approved_after_the_first_twenty_days_does_not_count():
    extension = {"approved_on": "2026-12-08", "reason": "需现场核查"}
    p = refused("license_denial_decision", license_decision("2026-12-10", extension), date(2026, 12, 10))
    assert paths(p) == ["data/extension/approved_on"]


def test_extension_without_approval_date_refused():
    p = refused("license_grant_decision", license_decision("2026-12-10", {"reason": "复杂"}), date(2026, 12, 10))
    assert paths(p) == ["data/extension/approved_on"]


def test_license_valid_to_before_valid_from_refused():
    data = license_decision("2026-12-04")
    data["decision"].update(valid_from="2026-12-04", valid_to="2026-12-03")
    assert paths(refused("license_grant_decision", data, date(2026, 12, 4))) == ["data/decision/valid_to"]


# --- penalty decision ----------------------------------------------------------------

PROVISION = "《市场监督管理行政处罚程序规定》第六十四条"


def penalty(decided, filed="2026-09-03", extension=None):
    data = {"case": {"number": "鞍审批案〔2026〕7号", "filed_on": filed}, "decision": {"date": decided}}
    if extension is not None:
        data["extension"] = extension
    return data


def test_penalty_decided_on_the_ninetieth_day_passes():
    # 2026-09-03 + 90 days = Wednesday 2026-12-02
    assert check("penalty_decision", penalty("2026-12-02"), date(2026, 12, 2), CAL) == []


def test_penalty_ninetieth_day_on_a_holiday_moves_to_the_next_working_day():
    # 2026-07-03 + 90 days = 2026-10-01 (National Day): the period ends 2026-10-08
    assert check("penalty_decision", penalty("2026-10-08", filed="2026-07-03"), date(2026, 10, 8), CAL) == []
    assert refused("penalty_decision", penalty("2026-10-09", filed="2026-07-03"), date(2026, 10, 9))


def test_penalty_decided_after_ninety_days_without_extension_refused():
    p = refused("penalty_decision", penalty("2026-12-03"), date(2026, 12, 3))
    assert paths(p) == ["data/decision/date"]
    assert "第六十条" in p.errors[0].message and "九十日" in p.errors[0].message


def test_penalty_with_approved_extension_passes_until_its_end():
    extension = {"approved_on": "2026-11-30", "approved_by": "王局长", "reason": "案情复杂", "until": "2027-01-01",
                 "provision": PROVISION}
    assert check("penalty_decision", penalty("2026-12-20", extension=extension), date(2026, 12, 20), CAL) == []
    p = refused("penalty_decision", penalty("2027-01-04", extension=extension), date(2027, 1, 4))
    assert "data/decision/date" in paths(p)


def test_penalty_extension_approved_after_the_ninety_days_refused():
    extension = {"approved_on": "2026-12-03", "approved_by": "王局长", "reason": "案情复杂", "until": "2027-01-01",
                 "provision": PROVISION}
    p = refused("penalty_decision", penalty("2026-12-10", extension=extension), date(2026, 12, 10))
    assert paths(p) == ["data/extension/approved_on"]


def test_penalty_extension_missing_fields_named():
    p = refused("penalty_decision", penalty("2026-12-10", extension={"approved_on": "2026-11-30"}), date(2026, 12, 10))
    assert paths(p) == ["data/extension/provision", "data/extension/approved_by", "data/extension/reason",
                        "data/extension/until"]


def extended(until, **more):
    return {"approved_on": "2026-11-30", "approved_by": "王局长", "reason": "需委托鉴定", "until": until,
            "provision": PROVISION, **more}


@pytest.mark.parametrize("until, collective, ok", [
    ("2027-01-01", None, True),            # 2026-12-02 + 30 days
    ("2027-01-02", None, False),           # 31 days: needs the heads' collective decision
    ("2027-03-01", None, False),
    ("2027-03-01", "2026-12-01", True),    # a collective decision sets a longer, reasonable period
    ("2026-12-02", None, False),           # not later than the 90th day: no extension at all
])
def test_penalty_extension_is_bounded(until, collective, ok):
    extension = extended(until, **({"collective_decision_on": collective} if collective else {}))
    data = penalty("2026-12-20", extension=extension)
    if ok:
        assert check("penalty_decision", data, date(2026, 12, 20), CAL) == []
    else:
        p = refused("penalty_decision", data, date(2026, 12, 20))
        assert "data/extension/until" in paths(p)


@pytest.mark.parametrize("decided", ["2026-11-20", "2026-12-20"])
def test_an_extension_without_its_basis_is_refused_even_within_ninety_days(decided):
    extension = extended("2026-12-30")
    del extension["provision"]
    p = refused("penalty_decision", penalty(decided, extension=extension), date.fromisoformat(decided))
    assert paths(p) == ["data/extension/provision"] and "第六十条" in p.errors[0].message


def test_penalty_decided_before_the_case_was_filed_refused():
    p = refused("penalty_decision", penalty("2026-09-02"), date(2026, 9, 2))
    assert paths(p) == ["data/decision/date"] and "立案之日" in p.errors[0].message


# --- order of dates anywhere -----------------------------------------------------------

@pytest.mark.parametrize("doc_type, data, issued_on, path", [
    ("license_acceptance_notice",
     {"application": {"received_on": "2026-11-10", "accepted_on": "2026-11-09"}}, date(2026, 11, 10),
     "data/application/accepted_on"),
    ("case_filing_form", {"case": {"filed_on": "2026-08-31"}, "filing": {"received_on": "2026-09-01"}},
     date(2026, 9, 3), "data/case/filed_on"),
    ("legal_review_opinion", {"case": {"filed_on": "2026-09-03"},
                              "review": {"submitted_on": "2026-11-06", "reviewed_on": "2026-11-05"}},
     date(2026, 11, 10), "data/review/reviewed_on"),
    ("hearing_notice", {"hearing": {"requested_on": "2026-10-27", "date": "2026-11-05"}}, date(2026, 10, 26),
     "data/issued_on"),
    ("license_non_acceptance_decision", {"application": {"received_on": "2026-11-03"}}, date(2026, 11, 2),
     "data/issued_on"),
])
def test_dates_out_of_order_refused_naming_the_later_field(doc_type, data, issued_on, path):
    p = refused(doc_type, data, issued_on)
    assert paths(p) == [path]
    assert "早于" in p.errors[0].message


def test_missing_or_malformed_dates_are_left_to_the_schema():
    assert check("penalty_decision", {"case": {"filed_on": "2026/09/03"}, "decision": {}}, date(2026, 12, 30), CAL) == []


def test_operator_calendar_for_2027_makes_the_check_possible(tmp_path):
    path = tmp_path / "calendar.json"
    path.write_text(json.dumps({"years": {"2027": {"holidays": ["2027-01-01"], "workdays": []}}}))
    data = {"application": {"received_on": "2026-12-10", "accepted_on": "2026-12-10"},
            "extension": {"reason": "复杂", "approved_on": "2026-12-30"}}
    # 20 working days after 2026-12-10 with 2027-01-01 off: 2027-01-08
    assert check("license_extension_notice", data, date(2027, 1, 8), WorkdayCalendar(path)) == []
    assert refused("license_extension_notice", data, date(2027, 1, 11), WorkdayCalendar(path)).type == "impossible-dates"
