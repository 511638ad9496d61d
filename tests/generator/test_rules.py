"""Standardisation-plan rules: pre-filled waivers, amounts, remedy clause, hearing lead."""
from datetime import date

import pytest

from decimal import Decimal

from services.generator.rules import (
    MAX_AMOUNT_YUAN, amount_errors, hearing_date_errors, prefilled_waiver_errors, remedy_clause,
)
from shared.problems import Problem


# --- pre-filled waivers, by meaning ------------------------------------------

@pytest.mark.parametrize("text", [
    # acknowledgements
    "我已知晓", "本人已收悉并清楚上述权利", "知道了", "明白。", "已阅", "本人已经知悉",
    "上述权利本人已知晓", "对以上告知内容均已清楚", "我知道我有申请听证的权利", "对告知事项已经了解了",
    # renunciations
    "不申请听证", "不要求听证", "放弃陈述申辩的权利", "不再提出申辩", "无需回避", "不申请回避",
    "我方不打算申请听证", "本人对听证权利予以放弃", "我不需要听证", "本人不行使陈述、申辩权",
    "我自愿放弃依法享有的陈述和申辩权利", "不申请行政复议", "放弃", "不陈述", "无陈述申辩",
    # no objection / consent
    "无异议", "没有意见", "对处罚决定没有异议", "认可上述事实和处罚", "当事人表示对该处罚无任何异议",
    "我们没有其他意见", "意见：无", "本人愿意接受处罚", "同意处罚", "认罚",
])
def test_waivers_refused_by_meaning(text):
    errors = prefilled_waiver_errors({"statement": {"opinion": text}})
    assert [e.path for e in errors] == ["data/statement/opinion"]
    assert "本人手写" in errors[0].message


@pytest.mark.parametrize("text", [
    "不申請聽證",                     # traditional characters
    "放棄陳述、申辯的權利",
    "我已知曉",
    "對處罰決定沒有異議",
    "不　申　请　听　证",             # ideographic spaces
    "放\u00a0弃 陈\t述",              # NBSP, tab
    "不申\n请听证",                  # line break
    "不\u200b申\u2060请\ufeff听证",    # zero-width characters
    "无\u00ad异议",                   # soft hyphen
    "不申请听証",                      # variant character
    "ｎｏ：不申请听证",                # fullwidth letters before it
    "放弃（）陈述",                    # brackets inside the phrase
])
def test_disguised_waivers_still_refused(text):
    assert [e.path for e in prefilled_waiver_errors({"a": text})] == ["data/a"]


@pytest.mark.parametrize("text", [
    "当事人表示不清楚变更登记期限",
    "我知道需要办理变更登记",
    "没有，当时不清楚需要在三十日内办理变更登记。",
    "以上告知内容你是否听清楚？是否申请回避？",
    "逾期不申请听证的，视为放弃听证权利。",
    "你公司如不申请听证，本机关将依法作出决定",
    "当事人放弃了原经营场所，搬至建设大道",
    "经当事人同意，执法人员进入现场检查",
    "我不知道有听证的权利",
    "当事人如实陈述了搬迁经过",
    "我清楚变更地址要去登记，但一直没去办",
    "在铁西区建设大道示例号，2026年6月搬过去的。",
    "你（单位）有权进行陈述和申辩，并可以在收到本告知书之日起五日内要求听证。",
    "经查，当事人未取得许可擅自从事经营活动。",
    "对处罚有异议，要求听证",
])
def test_ordinary_text_passes(text):
    assert prefilled_waiver_errors({"facts": text, "qa": [{"q": text, "a": text}]}) == []


def test_every_field_holding_a_waiver_is_named_and_the_finding_quoted():
    data = {"party": {"name": "张三"}, "qa": [{"q": "是否申请听证？", "a": "我已知晓，不申请听证"}],
            "remarks": ["ok", "没有意见"]}
    errors = prefilled_waiver_errors(data)
    assert [e.path for e in errors] == ["data/qa/0/a", "data/remarks/1"]
    assert "“我已知晓”“不申请听证”" in errors[0].message


def test_clean_notice_passes():
    data = {
        "party": {"name": "鞍山市某某商贸有限公司", "address": "鞍山市铁东区胜利路1号"},
        "facts": "经查，当事人未取得许可擅自从事经营活动。",
        "evidence": ["现场检查笔录", "询问笔录"],
        "amount": 5000,
    }
    assert prefilled_waiver_errors(data) == []


# --- amounts ----------------------------------------------------------------------

@pytest.mark.parametrize("value", [0, 20000, 0.1, 0.01, 1234567.89, 99.9, 1e3, 1e11,
                                   99999999999.99, Decimal("12.30")])
def test_amounts_accepted(value):
    assert amount_errors({"decision": {"penalties": [{"kind": "罚款", "amount_yuan": value}]}}) == []


@pytest.mark.parametrize("value, says", [
    (20000.999, "两位小数"),
    (0.001, "两位小数"),
    (0.1 + 0.2, "两位小数"),       # 0.30000000000000004: never rounded silently
    (1e-7, "两位小数"),
    (float("inf"), "有限"),
    (float("-inf"), "有限"),
    (float("nan"), "有限"),
    (Decimal("Infinity"), "有限"),
    (-0.01, "负数"),
    (-0.0, "负数"),
    (100000000000.01, "超出"),
    (1e300, "超出"),
    (True, "数字"),
    ("20000", "数字"),
    (None, "数字"),
])
def test_amounts_refused_naming_the_field(value, says):
    errors = amount_errors({"decision": {"penalties": [{"kind": "警告"}, {"kind": "罚款", "amount_yuan": value}]}})
    assert [e.path for e in errors] == ["data/decision/penalties/1/amount_yuan"]
    assert says in errors[0].message
    assert "inf" not in errors[0].message.lower() and "nan" not in errors[0].message.lower()


def test_amount_fields_found_anywhere_by_key_suffix():
    data = {"penalty": {"fine_amount_yuan": 1.005}, "closing": [{"paid": {"amount_yuan": 5}}],
            "amount_yuan_note": "见附件", "count": 1.2345}
    assert [e.path for e in amount_errors(data, "documents/2/data")] == ["documents/2/data/penalty/fine_amount_yuan"]


def test_the_maximum_is_named():
    assert MAX_AMOUNT_YUAN == Decimal("100000000000")


# --- remedy clause ---------------------------------------------------------------

AGENCY = {"name": "鞍山市行政审批局", "reconsideration_body": "鞍山市人民政府", "court": "鞍山市铁东区人民法院"}


def test_remedy_clause_text():
    assert remedy_clause(AGENCY) == (
        "如不服本决定，可以自收到本决定书之日起六十日内向鞍山市人民政府申请行政复议，"
        "也可以自收到本决定书之日起六个月内向鞍山市铁东区人民法院提起行政诉讼。")


def test_remedy_clause_strips_whitespace():
    assert "向鞍山市人民政府申请" in remedy_clause({**AGENCY, "reconsideration_body": " 鞍山市人民政府 "})


@pytest.mark.parametrize("agency, paths", [
    ({"court": "鞍山市铁东区人民法院"}, ["data/agency/reconsideration_body"]),
    ({"reconsideration_body": "鞍山市人民政府", "court": "  "}, ["data/agency/court"]),
    ({}, ["data/agency/reconsideration_body", "data/agency/court"]),
    ({"reconsideration_body": None, "court": None}, ["data/agency/reconsideration_body", "data/agency/court"]),
])
def test_remedy_incomplete(agency, paths):
    with pytest.raises(Problem) as exc:
        remedy_clause(agency)
    p = exc.value
    assert (p.status, p.type, p.title) == (422, "remedy-incomplete", "救济途径信息不全")
    assert [e.path for e in p.errors] == paths


@pytest.mark.parametrize("body", ["辽宁省市场监督管理局", "鞍山市人民政府或辽宁省行政审批局", "鞍山市司法局"])
def test_reconsideration_body_must_be_the_city_government(body):
    with pytest.raises(Problem) as exc:
        remedy_clause({**AGENCY, "reconsideration_body": body})
    assert exc.value.status == 422
    assert exc.value.type == "validation-failed"
    assert [e.path for e in exc.value.errors] == ["data/agency/reconsideration_body"]
    assert "第二十四条" in exc.value.errors[0].message


def test_court_must_be_a_peoples_court():
    with pytest.raises(Problem) as exc:
        remedy_clause({**AGENCY, "court": "铁东区法院"})
    assert [e.path for e in exc.value.errors] == ["data/agency/court"]


# --- hearing lead time --------------------------------------------------------------

EARLIEST = date(2026, 2, 28)   # 7 working days after 2026-02-12


def test_hearing_before_earliest_refused():
    errors = hearing_date_errors({"hearing": {"date": "2026-02-27"}}, EARLIEST)
    assert [e.path for e in errors] == ["data/hearing/date"]
    assert "七日" in errors[0].message and "第六十四条" in errors[0].message
    assert "2026年2月28日" in errors[0].message


@pytest.mark.parametrize("value", ["2026-02-28", "2026-03-02"])
def test_hearing_on_or_after_earliest_ok(value):
    assert hearing_date_errors({"hearing": {"date": value}}, EARLIEST) == []


def test_hearing_date_missing_left_to_schema_and_malformed_reported():
    assert hearing_date_errors({}, EARLIEST) == []
    assert hearing_date_errors({"hearing": {}}, EARLIEST) == []
    errors = hearing_date_errors({"hearing": {"date": "2026/03/02"}}, EARLIEST)
    assert [e.path for e in errors] == ["data/hearing/date"]
