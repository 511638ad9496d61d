"""One test suite for both search backends: the embedded Tantivy index
and the Elasticsearch one, the latter against osmem-server (an in-memory
OpenSearch-compatible server: no Elasticsearch installs here) and against a
real cluster when ZHIFA_TEST_ELASTICSEARCH_URL is set."""
from __future__ import annotations

import os
import uuid
from datetime import date

import pytest

from services.search.analysis import Analyzer
from services.search.index import IndexDoc, SearchQuery, parse_terms
from shared.problems import Problem

ANALYZER = Analyzer()
TODAY = date(2026, 6, 1)


def doc(n: int, kind="penalty", agency="鞍山市营商环境建设局", decided=date(2026, 3, 1), until=date(2029, 3, 1),
        title="行政处罚决定书", party="鞍山示例商贸有限公司", body="当事人未依法办理住所变更登记，罚款人民币贰万元。"):
    prefix = "鞍审批许准字" if kind == "license" else "鞍审批罚决字"
    return IndexDoc(f"{prefix}〔{decided.year}〕第{n}号", kind, title, agency, party, decided, until, body)


CORPUS = [
    doc(1),
    doc(2, body="当事人销售过期食品，没收违法所得并处罚款。", decided=date(2025, 5, 2)),
    doc(3, kind="license", agency="鞍山市行政审批局", title="准予行政许可决定书", party="示例餐饮有限公司",
        body="准予从事餐饮服务经营活动，食品经营许可证编号JY22103020012345。", decided=date(2026, 1, 5)),
    doc(4, body="给予警告，并责令改正。", decided=date(2024, 8, 8)),
    doc(5, body="已于公示期满撤下。", until=date(2026, 5, 31)),          # period over on TODAY
]


@pytest.fixture(scope="module")
def osmem():
    from osmem_server import OsmemServer
    server = OsmemServer.start(japanese=False)
    yield server.url
    server.close()


@pytest.fixture(params=["tantivy", "osmem", "elasticsearch"])
def backend(request, tmp_path):
    if request.param == "tantivy":
        from services.search.tantivy_index import TantivyIndex
        index = TantivyIndex(tmp_path / "index", ANALYZER)
    else:
        from services.search.elastic import ElasticIndex
        if request.param == "osmem":
            url = request.getfixturevalue("osmem")
        else:
            url = os.environ.get("ZHIFA_TEST_ELASTICSEARCH_URL")
            if not url:
                pytest.skip("ZHIFA_TEST_ELASTICSEARCH_URL is not set")
        index = ElasticIndex(url, prefix=f"test-{uuid.uuid4().hex[:10]}")
    index.upsert(CORPUS)
    yield index
    index.close()


def search(index, q="", **kw):
    index.refresh()         # what was written is searchable (within a second: test_nrt.py)
    return index.search(SearchQuery(parse_terms(q), today=TODAY, **kw))


def numbers(result):
    return [h.number for h in result.hits]


@pytest.mark.parametrize("q, expected", [
    ("罚", {1, 2, 4}),                       # one character (罚款, 处罚, 罚决字)
    ("许可", {3}),                           # two characters
    ("住所变更登记", {1}),                    # a word of the legal dictionary
    ('"没收违法所得"', {2}),                  # a phrase
    ("罚款 -过期", {1}),                      # exclusion
    ("-罚款", {3, 4}),                       # exclusion only
    ("第3号", {3}),                           # the document number
    ("jy22103020012345", {3}),                # Latin and digits, any case
    ("餐饮 食品", {3}),                        # every word must occur
    ("罚款 餐饮", set()),
    ("撤下", set()),                          # publication period over: not shown
])
def test_queries_match_as_written(backend, q, expected):
    result = search(backend, q)
    assert {int(n.split("第")[1][:-1]) for n in numbers(result)} == expected
    assert result.total == len(expected)


def test_filters_and_facets(backend):
    assert numbers(search(backend, kind="license")) == ["鞍审批许准字〔2026〕第3号"]
    assert search(backend, agency="鞍山市营商环境建设局").total == 3
    ranged = search(backend, date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert numbers(ranged) == ["鞍审批罚决字〔2025〕第2号"]
    facets = search(backend).facets
    assert facets["kind"] == {"penalty": 3, "license": 1}
    assert facets["agency"] == {"鞍山市营商环境建设局": 3, "鞍山市行政审批局": 1}
    assert facets["year"] == {"2026": 2, "2024": 1, "2025": 1}


def test_highlighted_snippets_escape_the_text(backend):
    backend.upsert([doc(9, body="当事人在店内张贴<b>虚假</b>广告，罚款人民币五千元。")])
    hit = next(h for h in search(backend, "虚假").hits)
    assert hit.snippet == "当事人在店内张贴&lt;b&gt;<mark>虚假</mark>&lt;/b&gt;广告，罚款人民币五千元。"


def test_relevance_puts_title_words_first(backend):
    backend.upsert([doc(10, title="食品安全行政处罚决定书", body="其他内容。")])
    hits = numbers(search(backend, "食品"))          # nos. 2 and 3 have it in the text only
    assert hits[0] == "鞍审批罚决字〔2026〕第10号" and len(hits) == 3


def test_sort_by_date_pages_and_cursor(backend):
    by_date = search(backend, sort="date")
    assert [h.decided_on for h in by_date.hits] == sorted((h.decided_on for h in by_date.hits), reverse=True)
    first = search(backend, sort="date", size=2)
    second = search(backend, sort="date", size=2, page=2)
    last = first.hits[-1]
    after = search(backend, sort="date", size=2, after=(last.decided_on.isoformat(), last.number))
    assert numbers(after) == numbers(second) and not set(numbers(first)) & set(numbers(second))
    with pytest.raises(Problem):
        search(backend, page=60, size=20)               # past the window: narrow the search


def test_replace_delete_and_rebuild(backend):
    backend.upsert([doc(1, body="改为没收非法财物。")])
    assert search(backend, "住所变更").total == 0 and search(backend, "非法财物").total == 1
    backend.delete("鞍审批罚决字〔2026〕第1号")
    backend.delete("鞍审批罚决字〔2026〕第1号")          # twice: nothing to do
    assert search(backend, "非法财物").total == 0
    seen: list[int] = []
    assert backend.rebuild(iter(CORPUS[:3]), seen.append) == 3
    assert sum(seen) == 3 and backend.count() == 3
    assert search(backend, "住所变更").total == 1 and search(backend, "警告").total == 0


def test_the_service_on_elasticsearch(zhifa_env, tmp_path, osmem):
    """ZHIFA_ELASTICSEARCH_URL switches the whole service: publish, search, withdraw, reindex."""
    from services.search.app import create_app
    from services.search.reindex import rebuild
    from tests.conftest import auth
    from tests.search.conftest import PENALTY, publish
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                               ZHIFA_ELASTICSEARCH_URL=osmem, ZHIFA_DEPLOYMENT=f"t{uuid.uuid4().hex[:8]}"))
    client = app.test_client()
    try:
        rt = app.extensions["zhifa.runtime"]
        assert rt.index.name == "elasticsearch"
        assert publish(client, PENALTY).status_code == 201
        assert client.get("/v1/search", query_string={"q": "罚"}).get_json()["total"] == 1
        assert client.get("/readyz").status_code == 200
        assert rebuild(rt) == 1 and rt.index.count() == 1
        client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "撤销"}, headers=auth("publisher"))
        assert client.get("/v1/search", query_string={"q": "罚"}).get_json()["total"] == 0
    finally:
        app.extensions["zhifa.runtime"].close()


# -- what citizens type: folding, parts of codes, agencies (every backend) -----------

CITIZEN = [
    doc(21, kind="license", agency="鞍山市市场监督管理局", title="准予行政许可决定书", party="鞍山市铁西区藥房連鎖店",
        body="准予食品经营许可，许可证编号：JY22103030045678，经营项目：餐飲服务。", decided=date(2026, 2, 2)),
    doc(22, agency="鞍山市消防救援支队", party="海城市示例锅炉有限公司",
        body="锅炉大气污染物排放超过《锅炉大气污染物排放标准》（GB 13271-2014）规定的限值，罚款人民币伍万元。",
        decided=date(2026, 2, 3)),
    doc(23, agency="鞍山市消防救援支队", party="台安县示例宾馆",
        body="消防设施未保持完好有效，统一社会信用代码９１２１０３０３ＭＡ０Ｕ７Ｆ２Ｎ４Ｋ，罚款人民币五千元。",
        decided=date(2026, 2, 4)),
]


@pytest.fixture
def citizen(backend):
    backend.upsert(CITIZEN)
    return backend


def nos(result):
    return {int(n.split("第")[1][:-1]) for n in numbers(result)}


@pytest.mark.parametrize("q, expected", [
    ("餐饮", {3, 21}),                        # traditional text (餐飲) found by the simplified word
    ("餐飲", {3, 21}),                        # and the other way round
    ("药房", {21}), ("藥房连锁", {21}),        # mixed forms in one word
    ("ＪＹ２２１０３０３００４５６７８", {21}),  # full-width input
    ("jy22103030045678", {21}), ("Jy22103030045678", {21}),
    ("22103030045678", {21}),                 # the code without its letters
    ("045678", {21}),                         # a tail of it
    ("2210303", {21}),                        # its head
    ("2210 3030 0456 78", {21}),              # pasted with spaces
    ('"2210-3030-0456-78"', {21}),            # with dashes
    ("GB13271-2014", {22}), ("gb 13271", {22}), ('"GB 13271"', {22}), ("13271", {22}),
    ("91210303MA0U7F2N4K", {23}),             # a code indexed in full-width, typed half-width
    ("ma0u7f2n4k", {23}),
    ("0456789", set()),                       # digits that are not there in that order
    ("JY045678", set()),                      # letters glued to a tail are not a prefix of the code
])
def test_folded_forms_and_parts_of_codes_find_their_decisions(citizen, q, expected):
    result = search(citizen, q)
    assert nos(result) == expected and result.total == len(expected), q


@pytest.mark.parametrize("agency, expected", [
    ("消防", {22, 23}),                       # a part of the name
    ("消防救援支队", {22, 23}),
    ("鞍山市消防救援支队", {22, 23}),          # the whole name
    ("市场监管", set()),                      # not a substring of any name
    ("市場監督", {21}),                       # traditional characters
])
def test_the_agency_filter_matches_a_part_of_the_name(citizen, agency, expected):
    assert nos(search(citizen, agency=agency)) == expected


@pytest.mark.parametrize("q", ["，。！", "***", "、", "……", "——", "“”", "- -", '""'])
def test_punctuation_only_queries_are_refused_naming_q(q):
    with pytest.raises(Problem) as caught:
        parse_terms(q)
    assert caught.value.status == 422 and caught.value.errors[0].path == "q"


def test_snippets_mark_folded_matches_and_start_at_a_word(citizen):
    hit = search(citizen, "餐饮").hits
    snippet = next(h.snippet for h in hit if h.number.endswith("第21号"))
    assert "<mark>餐飲</mark>" in snippet
    code = next(h.snippet for h in search(citizen, "045678").hits)
    assert "JY2210303<mark>0045678</mark>" in code or "<mark>045678</mark>" in code
    long_clause = doc(24, body="当事人" + "经营食品销售活动期间" * 8 + "擅自改变经营场所地址且未办理变更登记手续。")
    citizen.upsert([long_clause])
    text = next(h.snippet for h in search(citizen, "变更登记").hits if h.number.endswith("第24号"))
    assert text.startswith("…")
    shown = text[1:].split("<mark>")[0]
    body = long_clause.body
    at = body.index(shown)
    # the window begins where a word begins: not inside 经营 / 食品 / 销售 / 活动 / 期间
    assert shown[:2] in {"经营", "食品", "销售", "活动", "期间", "擅自", "改变", "场所", "地址"} or at == 0, text
