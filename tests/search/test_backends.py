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
