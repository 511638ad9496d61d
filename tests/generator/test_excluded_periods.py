"""许可法 art. 45: time for 听证, 检验, 检测, 检疫, 鉴定, 专家评审… is not counted in the 20/30 working days;
it is recorded with its basis and dates, counted out, and printed for the applicant."""
from __future__ import annotations

from datetime import date

import pytest

from services.generator.deadlines import compute_deadlines
from services.generator.timeliness import check
from services.generator.workdays import WorkdayCalendar
from shared.problems import Problem
from tests.generator.test_api import assert_problem, docx_text, example, post

CAL = WorkdayCalendar(None)
# Accepted Monday 2026-11-09: the 20th working day after it is 2026-12-07.
APPLICATION = {"item": "食品经营许可（餐饮服务）", "received_on": "2026-11-05", "accepted_on": "2026-11-09"}
TESTING = {"kind": "检验", "basis": "《食品经营许可审查通则》第十五条", "started_on": "2026-11-16",
           "ended_on": "2026-11-20"}    # five working days


def decision(decided: str, *periods) -> dict:
    data = {"application": dict(APPLICATION), "decision": {"date": decided}}
    if periods:
        data["excluded_periods"] = list(periods)
    return data


def test_the_decision_period_is_counted_without_the_excluded_days():
    plain = compute_deadlines(["license_decision"], decision("2026-12-01"), date(2026, 12, 1), CAL)[0]
    paused = compute_deadlines(["license_decision"], decision("2026-12-01", TESTING), date(2026, 12, 1), CAL)[0]
    assert plain.due_on == date(2026, 12, 7)
    assert paused.due_on == date(2026, 12, 14)        # five working days later
    assert "第四十五条" in paused.basis and "检验2026年11月16日至2026年11月20日" in paused.basis


@pytest.mark.parametrize("doc_type", ["license_grant_decision", "license_denial_decision"])
def test_a_lawful_decision_after_an_expert_review_is_not_refused(doc_type):
    late = decision("2026-12-11")
    with pytest.raises(Problem):
        check(doc_type, late, date(2026, 12, 11), CAL)
    review = {"kind": "专家评审", "basis": "《某省食品经营许可管理办法》第二十条", "started_on": "2026-11-23",
              "ended_on": "2026-11-27"}
    assert check(doc_type, decision("2026-12-11", review), date(2026, 12, 11), CAL) == []
    # overlapping periods count each day once
    assert check(doc_type, decision("2026-12-11", review, dict(review, kind="鉴定")), date(2026, 12, 11), CAL) == []
    with pytest.raises(Problem):
        check(doc_type, decision("2026-12-15", review), date(2026, 12, 15), CAL)


@pytest.mark.parametrize("period, field", [
    (dict(TESTING, started_on="2026-11-02"), "data/excluded_periods/0/started_on"),   # before acceptance
    (dict(TESTING, ended_on="2026-11-13", started_on="2026-11-16"), "data/excluded_periods/0/ended_on"),
    (dict(TESTING, ended_on="2026-12-20"), "data/excluded_periods/0/ended_on"),       # after the decision
    (dict(TESTING, ended_on="2030-12-20"), "data/excluded_periods/0/ended_on"),       # unbounded pause
])
def test_impossible_periods_are_refused(period, field):
    with pytest.raises(Problem) as exc:
        check("license_grant_decision", decision("2026-12-01", period), date(2026, 12, 1), CAL)
    assert field in [e.path for e in exc.value.errors]


def test_the_decision_tells_the_applicant_in_writing(sqlite_generator):
    _, client = sqlite_generator
    data = example("license_grant_decision", excluded_periods=[TESTING | {"started_on": "2026-10-26",
                                                                            "ended_on": "2026-10-28"}])
    resp = post(client, {"type": "license_grant_decision", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_json()
    text = docx_text(client, resp.get_json()["id"])
    assert "依照《中华人民共和国行政许可法》第四十五条的规定" in text
    assert "检验：2026年10月26日至2026年10月28日（依据：《食品经营许可审查通则》第十五条）" in text
    bad = example("license_grant_decision", excluded_periods=[dict(TESTING, kind="出差")])
    assert_problem(post(client, {"type": "license_grant_decision", "data": bad, "formats": ["docx"]}), 422,
                   "data/excluded_periods/0/kind")
