"""Standardisation-plan rules: control characters, pre-printed waivers, remedy clause, hearing lead."""
from datetime import date

import pytest

from services.generator.rules import (
    control_character_errors, hearing_date_errors, prefilled_waiver_errors, remedy_clause,
)
from shared.problems import Problem


# --- control characters -----------------------------------------------------

def test_clean_data_has_no_control_errors():
    data = {"party": {"name": "张三", "address": "鞍山市铁东区\t胜利路1号"},
            "facts": "第一行\r\n第二行", "evidence": ["照片", {"title": "笔录"}], "amount": 3, "ok": None}
    assert control_character_errors(data) == []


def test_control_characters_named_by_path_and_code_point():
    data = {
        "party": {"name": "张\x07三"},
        "evidence": ["ok", {"title": "a\x1bb\x7f"}],
        "facts": "c1\x85",
        "nul": "\x00",
    }
    errors = {e.path: e.message for e in control_character_errors(data)}
    assert errors == {
        "data/party/name": "含有不可见控制字符或无效字符（U+0007），请删除后重试。",
        "data/evidence/1/title": "含有不可见控制字符或无效字符（U+001B、U+007F），请删除后重试。",
        "data/facts": "含有不可见控制字符或无效字符（U+0085），请删除后重试。",
        "data/nul": "含有不可见控制字符或无效字符（U+0000），请删除后重试。",
    }


def test_control_character_in_key():
    errors = control_character_errors({"party": {"na\x08me": "张三"}})
    assert len(errors) == 1
    assert errors[0].path == "data/party/na\x08me"
    assert "U+0008" in errors[0].message and "字段名" in errors[0].message


def test_boundaries_of_c1_range():
    assert control_character_errors({"a": "\x9f"})[0].path == "data/a"
    assert control_character_errors({"a": "\xa0é中"}) == []   # U+00A0 and above are fine


def test_custom_root_path():
    assert control_character_errors(["x\x01"], path="data/evidence")[0].path == "data/evidence/0"


# --- pre-printed waivers ------------------------------------------------------

@pytest.mark.parametrize("text, phrase", [
    ("我已知晓", "我已知晓"),
    ("当事人已知晓上述权利", "已知晓"),
    ("本人知晓陈述申辩权利", "本人知晓"),
    ("不申请听证", "不申请听证"),
    ("不 申请 听证", "不申请听证"),
    ("不\u3000申请\u3000听证", "不申请听证"),          # full-width spaces
    ("不\u200b申请听证", "不申请听证"),                # zero-width space
    ("放弃听证", "放弃听证"),
    ("放弃陈述", "放弃陈述"),
    ("放弃申辩", "放弃申辩"),
    ("本人放弃陈述申辩", "放弃陈述申辩"),
    ("放弃陈述和申辩", "放弃陈述和申辩"),
    ("无陈述申辩", "无陈述申辩"),
    ("不陈述", "不陈述"),
    ("不申辩", "不申辩"),
    ("对处罚无 异议", "无异议"),
    ("同意处罚", "同意处罚"),
    ("认可处罚决定", "认可处罚"),
])
def test_waiver_phrases_refused(text, phrase):
    errors = prefilled_waiver_errors({"statement": {"opinion": text}})
    assert [e.path for e in errors] == ["data/statement/opinion"]
    assert errors[0].message == (
        f"当事人的陈述、申辩意见及是否申请听证须由当事人本人手写，不得预先填写“{phrase}”。")


def test_waiver_found_deep_in_lists_and_all_phrases_quoted():
    data = {"party": {"name": "张三"}, "notes": ["ok", {"text": "我已知晓，不申请听证"}]}
    errors = prefilled_waiver_errors(data)
    assert [e.path for e in errors] == ["data/notes/1/text"]
    assert "“我已知晓”“不申请听证”" in errors[0].message


def test_other_spacing_characters_normalised_but_punctuation_is_not():
    assert prefilled_waiver_errors({"x": "放\u00a0弃 陈\t述"})[0].path == "data/x"   # NBSP, tab
    assert prefilled_waiver_errors({"x": "不申\n请听证"})[0].path == "data/x"          # line break
    assert prefilled_waiver_errors({"x": "放弃（）陈述"}) == []


def test_clean_notice_passes():
    data = {
        "party": {"name": "鞍山市某某商贸有限公司", "address": "鞍山市铁东区胜利路1号"},
        "facts": "经查，当事人未取得许可擅自从事经营活动。",
        "rights": "你（单位）有权进行陈述和申辩，并可以在收到本告知书之日起五日内要求听证。",
        "evidence": ["现场检查笔录", "询问笔录"],
        "amount": 5000,
    }
    assert prefilled_waiver_errors(data) == []


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


def test_text_that_cannot_be_written_to_a_document_is_refused():
    errors = control_character_errors({"name": "鞍山\ud800商贸", "note": "尾\uffff", "ok": "正常文本\t\n"})
    assert {e.path: e.message for e in errors} == {
        "data/name": "含有不可见控制字符或无效字符（U+D800），请删除后重试。",
        "data/note": "含有不可见控制字符或无效字符（U+FFFF），请删除后重试。",
    }
