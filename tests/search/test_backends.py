"""One test suite for both search backends: the embedded SQLite FTS5 index
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


@pytest.fixture(params=["fts", "osmem", "elasticsearch"])
def backend(request, tmp_path):
    if request.param == "fts":
        from services.search.fts import FtsIndex
        index = FtsIndex(tmp_path / "index.sqlite3", ANALYZER)
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


def test_very_common_words_are_estimated_and_say_so(tmp_path, monkeypatch):
    """Above fts.EXACT_FACETS matches the embedded index samples the facets (and the
    total when filters apply) and ranks the newest matches only; the result says so."""
    from services.search import fts
    index = fts.FtsIndex(tmp_path / "index.sqlite3", ANALYZER)
    many = [doc(n, body="罚款人民币一万元。", decided=date(2024 + n % 2, 1 + n % 12, 1)) for n in range(20, 80)]
    index.upsert([*CORPUS, *many])
    exact = search(index, "罚")
    exact_2025 = search(index, "罚", date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert exact.total == 63 and not exact.facets_approximate and not exact.total_approximate
    monkeypatch.setattr(fts, "EXACT_FACETS", 10)
    monkeypatch.setattr(fts, "FACET_SAMPLE", 20)
    monkeypatch.setattr(fts, "EXACT_BELOW", 5)
    monkeypatch.setattr(fts, "RANK_WITHIN", 30)
    common = search(index, "罚")
    # The bare word's total stays exact: the FTS count less no. 5, past its period.
    assert common.total == 63 and not common.total_approximate
    assert common.facets_approximate and common.facets["kind"] == {"penalty": 63}
    assert set(common.facets["year"]) <= set(exact.facets["year"])
    assert common.ranked_within == 30 and len(common.hits) == 20
    filtered = search(index, "罚", date_from=date(2025, 1, 1), date_to=date(2025, 12, 31))
    assert filtered.total_approximate and abs(filtered.total - exact_2025.total) <= exact_2025.total // 2
    assert all(h.decided_on.year == 2025 for h in filtered.hits)
    assert search(index, "罚", kind="license").total == 0         # an estimate this small is recounted
    index.close()


def test_rebuild_in_worker_processes_finds_the_same(tmp_path):
    from services.search.fts import FtsIndex
    one, two = FtsIndex(tmp_path / "one.sqlite3", ANALYZER), FtsIndex(tmp_path / "two.sqlite3", ANALYZER)
    assert one.rebuild(iter(CORPUS)) == two.rebuild(iter(CORPUS), workers=2) == len(CORPUS)
    for q in ("罚", "许可", "住所变更登记", '"没收违法所得"', "罚款 -过期", "jy22103020012345"):
        assert numbers(search(one, q)) == numbers(search(two, q)), q
    two.delete(CORPUS[0].number)                     # rows segmented elsewhere leave the index whole
    assert search(two, "住所变更").total == 0 and search(two, "罚").total == 2
    one.close(), two.close()


def test_an_index_file_of_the_first_layout_is_indexed_anew(tmp_path):
    """The first version stored the text in `meta` and in the FTS table; opening
    such a file re-indexes its decisions in the current layout."""
    import sqlite3

    from services.search.fts import FtsIndex
    path = tmp_path / "index.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE current (id INTEGER PRIMARY KEY CHECK (id = 1), gen INTEGER);
        INSERT INTO current VALUES (1, 1);
        CREATE TABLE meta_g1 (id INTEGER PRIMARY KEY, number TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
            title TEXT NOT NULL, agency TEXT NOT NULL, party TEXT NOT NULL, decided_on TEXT NOT NULL,
            until TEXT NOT NULL, year INTEGER NOT NULL, body TEXT NOT NULL);
        CREATE VIRTUAL TABLE docs_g1 USING fts5(title, words, chars);""")
    d = CORPUS[0]
    conn.execute("INSERT INTO meta_g1 VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (d.number, d.kind, d.title, d.agency, d.party, d.decided_on.isoformat(),
                  d.publish_until.isoformat(), d.year, d.body))
    conn.commit(), conn.close()
    index = FtsIndex(path, ANALYZER)
    assert numbers(search(index, "住所变更")) == [d.number] and search(index, "罚").facets["kind"] == {"penalty": 1}
    index.close()
