"""Penalties carry what the law needs to carry them out, and the hearing right follows from them
(行政处罚法 arts. 9, 63), through the HTTP contract a case system uses."""
from __future__ import annotations

import copy

import pytest

from services.generator import penalties
from services.generator.penalties import (
    DEFAULT_HEARING_THRESHOLDS,
    content_errors,
    hearing_reasons,
)
from tests.generator.test_api import assert_problem, docx_text, example, post

ORG = {"kind": "organization", "name": "鞍山示例商贸有限公司", "address": "辽宁省鞍山市铁西区人民路示例号"}
PERSON = {"kind": "person", "name": "赵丽", "address": "辽宁省海城市示例街道示例路8号"}


def notice(penalty_list, party=ORG, **changes) -> dict:
    data = example("penalty_prior_notice", party=dict(party), **changes)
    data["decision"]["penalties"] = penalty_list
    return data


def decision(penalty_list, **changes) -> dict:
    data = example("penalty_decision", **changes)
    data["decision"]["penalties"] = penalty_list
    return data


# -- what each kind must carry -------------------------------------------------------

@pytest.mark.parametrize("penalty, path", [
    ({"kind": "罚款"}, "amount_yuan"),
    ({"kind": "罚款", "amount_yuan": 0}, "amount_yuan"),
    ({"kind": "罚 款", "amount_yuan": 0.0}, "amount_yuan"),
    ({"kind": "处以罚款"}, "amount_yuan"),
    ({"kind": "没收违法所得"}, "amount_yuan"),
    ({"kind": "没收非法财物", "amount_yuan": 0}, "amount_yuan"),
    ({"kind": "吊销许可证件", "license_number": "JY12103030012345"}, "license_name"),
    ({"kind": "吊销食品经营许可证", "license_name": "食品经营许可证"}, "license_number"),
    ({"kind": "暂扣许可证件", "license_name": "食品经营许可证", "license_number": "JY1"}, "period"),
    ({"kind": "责令停产停业", "period": "三个月"}, "scope"),
    ({"kind": "责令停业整顿", "scope": "餐饮服务"}, "period"),
    ({"kind": "限制从业", "scope": "食品生产经营管理工作"}, "period"),
    ({"kind": "警告", "amount_yuan": 500}, "amount_yuan"),
    ({"kind": "罚款并没收违法所得", "amount_yuan": 500}, "kind"),
])
@pytest.mark.parametrize("doc_type", ["penalty_decision", "penalty_prior_notice"])
def test_a_penalty_without_its_content_is_refused_naming_the_field(sqlite_generator, doc_type, penalty, path):
    _, client = sqlite_generator
    data = (decision if doc_type == "penalty_decision" else notice)([{"kind": "警告"}, penalty])
    body = assert_problem(post(client, {"type": doc_type, "data": data, "formats": ["docx"]}), 422,
                          f"data/decision/penalties/1/{path}")
    assert all(e["message"] for e in body["errors"])


def test_every_kind_prints_what_carries_it_out(sqlite_generator):
    _, client = sqlite_generator
    data = decision([
        {"kind": "罚款", "amount_yuan": 3000},
        {"kind": "没收违法所得", "amount_yuan": 1250.5},
        {"kind": "吊销许可证件", "license_name": "食品经营许可证", "license_number": "JY12103030012345"},
        {"kind": "责令停产停业", "scope": "餐饮服务", "period": "一个月"},
    ])
    resp = post(client, {"type": "penalty_decision", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_json()
    text = docx_text(client, resp.get_json()["id"])
    assert "罚款人民币叁仟元整（¥3,000.00）" in text
    assert "没收违法所得人民币壹仟贰佰伍拾元伍角（¥1,250.50）" in text
    assert "吊销许可证件（食品经营许可证，编号：JY12103030012345）" in text
    assert "责令停产停业，范围：餐饮服务，期限：一个月" in text
    assert "¥0.00" not in text


def test_content_rules_are_read_by_meaning():
    assert penalties.classify("罚　款") == penalties.FINE
    assert penalties.classify("吊销营业执照") == penalties.LICENCE_REVOCATION
    assert penalties.classify("责令关闭") == penalties.CLOSURE
    assert penalties.classify("降低资质等级") == penalties.DOWNGRADE
    assert penalties.classify("通报批评") == penalties.WARNING
    assert content_errors({"decision": {"penalties": [{"kind": "警告"}, {"kind": "罚款", "amount_yuan": 0.01}]}}) == []


# -- the hearing right ----------------------------------------------------------------

@pytest.mark.parametrize("party, penalty", [
    (ORG, {"kind": "吊销许可证件", "license_name": "食品经营许可证", "license_number": "JY12103030012345"}),
    (ORG, {"kind": "吊销营业执照", "license_name": "营业执照", "license_number": "91210303MA0U7F2N4K"}),
    (ORG, {"kind": "责令停产停业", "scope": "全部生产经营活动", "period": "三个月"}),
    (ORG, {"kind": "责令关闭"}),
    (PERSON, {"kind": "限制从业", "scope": "食品生产经营管理工作", "period": "五年"}),
    (ORG, {"kind": "降低资质等级", "detail": "由二级降为三级"}),
    (ORG, {"kind": "罚款", "amount_yuan": 100000}),            # the threshold itself is 较大数额 (以上)
    (PERSON, {"kind": "罚款", "amount_yuan": 10000}),
    (PERSON, {"kind": "没收违法所得", "amount_yuan": 12000.5}),
    (ORG, {"kind": "没收非法财物", "amount_yuan": 150000}),
])
def test_a_notice_cannot_withhold_the_hearing_right_the_law_gives(sqlite_generator, party, penalty):
    _, client = sqlite_generator
    refused = post(client, {"type": "penalty_prior_notice", "formats": ["docx"],
                            "data": notice([penalty], party=party, hearing_right=False)})
    body = assert_problem(refused, 422, "data/hearing_right")
    assert "第六十三条" in body["errors"][0]["message"]
    # left out, it is derived and printed with its deadline
    data = notice([penalty], party=party)
    del data["hearing_right"]
    made = post(client, {"type": "penalty_prior_notice", "formats": ["docx"], "data": data})
    assert made.status_code == 201, made.get_json()
    assert "penalty_hearing_request" in [d["key"] for d in made.get_json()["deadlines"]]
    assert "有权要求听证" in docx_text(client, made.get_json()["id"])


@pytest.mark.parametrize("party, penalty", [
    (ORG, {"kind": "罚款", "amount_yuan": 99999.99}),
    (PERSON, {"kind": "罚款", "amount_yuan": 9999}),
    (ORG, {"kind": "警告"}),
    (PERSON, {"kind": "没收违法所得", "amount_yuan": 800}),
])
def test_below_the_thresholds_the_notice_may_say_no_hearing(sqlite_generator, party, penalty):
    _, client = sqlite_generator
    resp = post(client, {"type": "penalty_prior_notice", "formats": ["docx"],
                         "data": notice([penalty], party=party, hearing_right=False)})
    assert resp.status_code == 201, resp.get_json()
    assert "有权要求听证" not in docx_text(client, resp.get_json()["id"])


def test_fines_and_confiscations_add_up_and_the_province_sets_the_threshold():
    data = {"party": ORG, "decision": {"penalties": [{"kind": "罚款", "amount_yuan": 60000},
                                                     {"kind": "罚款", "amount_yuan": 40000}]}}
    assert hearing_reasons(data)   # 100,000 together
    liaoning = copy.deepcopy(DEFAULT_HEARING_THRESHOLDS)
    liaoning["fine"]["organization"] = 50000
    assert hearing_reasons({"party": ORG, "decision": {"penalties": [{"kind": "罚款", "amount_yuan": 50000}]}},
                           liaoning)
    assert not hearing_reasons({"party": ORG, "decision": {"penalties": [{"kind": "罚款", "amount_yuan": 50000}]}})


# -- a warning-only decision ------------------------------------------------------------

@pytest.mark.parametrize("kinds", [["警告"], ["通报批评"], ["警告", "通报批评"]])
def test_a_warning_only_decision_threatens_no_enforcement_and_is_not_published(sqlite_generator, kinds):
    _, client = sqlite_generator
    resp = post(client, {"type": "penalty_decision", "formats": ["docx"],
                         "data": decision([{"kind": k} for k in kinds])})
    assert resp.status_code == 201, resp.get_json()
    keys = [d["key"] for d in resp.get_json()["deadlines"]]
    assert "publication_decision" not in keys and "penalty_fine_payment" not in keys
    text = docx_text(client, resp.get_json()["id"])
    assert "强制执行" not in text and "公示" not in text
    fined = post(client, {"type": "penalty_decision", "formats": ["docx"],
                          "data": decision([{"kind": "警告"}, {"kind": "罚款", "amount_yuan": 200}])})
    assert "强制执行" in docx_text(client, fined.get_json()["id"])


def test_an_extension_prints_its_basis_and_approval(sqlite_generator):
    _, client = sqlite_generator
    data = example("penalty_decision", extension={
        "reason": "需委托鉴定机构对涉案物品进行鉴定", "provision": "《市场监督管理行政处罚程序规定》第六十四条",
        "approved_by": "局长孙立", "approved_on": "2026-11-20", "until": "2026-12-30"})
    resp = post(client, {"type": "penalty_decision", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_json()
    text = docx_text(client, resp.get_json()["id"])
    assert ("依据《市场监督管理行政处罚程序规定》第六十四条的规定，经本机关负责人局长孙立于2026年11月20日批准，"
            "办案期限延长至2026年12月30日") in text
    del data["extension"]["provision"]
    assert_problem(post(client, {"type": "penalty_decision", "data": data, "formats": ["docx"]}), 422,
                   "data/extension/provision")
