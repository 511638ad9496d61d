"""Waivers in everyday words (plan item 7): a record's data may not pre-fill the party's colloquial
refusal of a right, its acknowledgement, or its acceptance of the penalty, whether in one text or as the
answer to a question about the right; facts, the officer's question alone and a request for a hearing pass.

The phrasings below are not those the patterns were written from (see rules.py): they test the model."""
from __future__ import annotations

import pytest

from services.generator.rules import prefilled_waiver_errors
from tests.generator.test_api import assert_problem, example, post

WAIVERS = [
    # the reviewer's findings
    "是否需要听证？—不用了。",
    "没啥要说的，我认了。",
    # colloquial refusal of the hearing
    "听证？不用不用。",
    "问：你要求举行听证吗？答：不需要。",
    "要不要听证——算了吧。",
    "听证什么的就免了吧",
    "我们不开听证会了",
    "听证这事就算了",
    "甭搞什么听证了",
    "我就不申请听证了吧",
    # nothing to say / no defence
    "我没什么要说的了。",
    "没有什么可申辩的",
    "我没啥好解释的",
    "没有其他要补充的。",
    "我无话可说。",
    # accepting
    "这事我认栽。",
    "错了就是错了，该罚。",
    "罚款我接受，下次注意",
    "你们看着办吧",
    "按你们的意见办吧",
    "行吧，就这么着吧",
    "我们没啥意见",
    "都听你们的",
    # acknowledgement in a question/answer
    "告知的权利你听明白了吗？明白了。",
    "对拟处罚的内容有无异议？没有。",
    "你对处罚决定服不服？服。",
    # traditional characters beyond those the patterns were written with (著, 麽, 嗎, 嘛)
    "聽證？用不著。",
    "聽證就免了嘛",
    "這事我認栽，沒什麼好說的",
]

PASS = [
    "是否需要听证？",
    "你是否要求举行听证？",
    "当事人要求听证。",
    "当事人当场提出要求听证，并申请回避。",
    "我要求听证，不服这个处罚。",
    "对处罚有无异议？有，我认为罚得太重。",
    "我们认为事实认定有误，要求陈述申辩。",
    "2026年6月搬迁后没有办理变更登记，不清楚要在三十日内办理。",
    "店铺门头的招牌就这样挂了两年。",
    "问：营业执照放在哪里？答：在柜台里。",
    "问：搬迁后有没有办理变更登记？答：没有。",
    "认定事实的依据是现场照片。",
    "不用了解的内容我就不看了",
    "我们还没来得及说明情况",
]


@pytest.mark.parametrize("text", WAIVERS)
def test_colloquial_waivers_are_refused(text):
    errors = prefilled_waiver_errors({"inquiry": {"note": text}})
    assert [e.path for e in errors] == ["data/inquiry/note"], text


@pytest.mark.parametrize("text", PASS)
def test_facts_questions_and_requests_pass(text):
    assert prefilled_waiver_errors({"inquiry": {"note": text}}) == [], text


@pytest.mark.parametrize("q, a", [
    ("是否需要听证？", "不用了。"),
    ("是否申请回避？", "不申请。"),
    ("你还有什么要陈述、申辩的吗？", "没了。"),
    ("你对我们告知的权利是否清楚？", "清楚。"),
    ("对以上处罚有无意见？", "没意见"),
    ("要不要听证", "算了吧"),
])
def test_bare_answer_to_a_question_about_a_right_is_refused(q, a):
    errors = prefilled_waiver_errors({"inquiry": {"qa": [{"q": "现在的经营地址在哪里？", "a": "建设大道示例号。"},
                                                         {"q": q, "a": a}]}})
    assert [e.path for e in errors] == ["data/inquiry/qa/1/a"], (q, a)


@pytest.mark.parametrize("q, a", [
    ("是否需要听证？", "需要，我要求听证。"),
    ("搬迁后是否申请了住所变更登记？", "没有。"),
    ("你是否清楚变更登记的期限？", "不清楚。"),   # a fact about the law, not about the party's rights
    ("营业执照是否在店内悬挂？", "是的。"),
])
def test_answers_of_fact_pass(q, a):
    assert prefilled_waiver_errors({"inquiry": {"qa": [{"q": q, "a": a}]}}) == [], (q, a)


def test_an_inquiry_record_with_a_colloquial_waiver_is_refused(sqlite_generator):
    _, client = sqlite_generator
    data = example("inquiry_record")
    data["inquiry"]["qa"].append({"q": "是否需要听证？", "a": "不用了。"})
    assert_problem(post(client, {"type": "inquiry_record", "data": data, "formats": ["docx"]}), 422,
                   f"data/inquiry/qa/{len(data['inquiry']['qa']) - 1}/a")
    data["inquiry"]["qa"][-1] = {"q": "还有什么要补充的？", "a": "没啥要说的，我认了。"}
    assert_problem(post(client, {"type": "inquiry_record", "data": data, "formats": ["docx"]}), 422,
                   f"data/inquiry/qa/{len(data['inquiry']['qa']) - 1}/a")


def test_hearing_record_and_report_are_issued_and_the_record_refuses_a_prefilled_waiver(sqlite_generator):
    """处罚法 arts. 64-65: the 20th and 21st types; the party's final statement and check are handwritten."""
    _, client = sqlite_generator
    for doc_type, kind in (("hearing_record", "听笔字"), ("hearing_report", "听报字")):
        resp = post(client, {"type": doc_type, "data": example(doc_type), "formats": ["docx"]})
        assert resp.status_code == 201, resp.get_json()
        assert kind in resp.get_json()["number"]
    data = example("hearing_record")
    data["proceedings"].append({"speaker": "当事人委托代理人孙明", "words": "我们没啥要说的了，认罚。"})
    assert_problem(post(client, {"type": "hearing_record", "data": data, "formats": ["docx"]}), 422,
                   f"data/proceedings/{len(data['proceedings']) - 1}/words")
