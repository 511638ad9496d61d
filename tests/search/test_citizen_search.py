"""Search as citizens type it, through the API and the page: other forms of the
same characters, parts of codes, part of an agency's name, and queries of
punctuation only refused with a hint naming `q`."""
from __future__ import annotations

import pytest

from tests.search.conftest import LICENSE, PENALTY, decision, publish
from tests.search.test_api import assert_problem, search


@pytest.fixture
def published(sqlite_search):
    _, client = sqlite_search
    publish(client, PENALTY)
    publish(client, decision(LICENSE, agency="鞍山市消防救援支队",
                             content="准予从事餐饮服务经营活动，许可证编号ＪＹ２２１０３０３００４５６７８。"))
    return client


@pytest.mark.parametrize("q, found", [
    ("餐飲服務", LICENSE["number"]),                 # traditional
    ("ＪＹ２２１０３０３００４５６７８", LICENSE["number"]),  # full-width, as indexed
    ("jy22103030045678", LICENSE["number"]),
    ("045678", LICENSE["number"]),                   # a tail of the licence number
    ("2210 3030 0456 78", LICENSE["number"]),        # pasted with spaces
    ("住所變更登記", PENALTY["number"]),
])
def test_other_forms_find_the_same_decision(published, q, found):
    result = search(published, q=q)
    assert [h["number"] for h in result["hits"]] == [found], q


def test_part_of_an_agency_name_filters(published):
    assert [h["number"] for h in search(published, agency="消防")["hits"]] == [LICENSE["number"]]
    assert search(published, agency="消防局")["total"] == 0


@pytest.mark.parametrize("q", ["，。！", "***", "？？", "——", "、", "【】"])
def test_punctuation_only_is_refused_with_a_hint(published, q):
    body = assert_problem(published.get("/v1/search", query_string={"q": q}), 422, "q")
    assert "标点" in body["errors"][0]["message"]


def test_punctuation_among_words_is_ignored(published):
    assert search(published, q="餐饮 ，。")["total"] == 1
