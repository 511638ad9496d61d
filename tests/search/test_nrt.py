"""The embedded Tantivy index as a service uses it: searchable within a second
of a 201 with commits batched, one writer per directory across processes,
the database's latest version written, and a lost, corrupt or outdated index
rebuilt from the database on start (searches say so meanwhile)."""
from __future__ import annotations

import json
import multiprocessing
import threading
import time
from datetime import date

import pytest

from services.search.analysis import Analyzer
from services.search.index import IndexDoc, SearchQuery, parse_terms
from services.search.tantivy_index import TantivyIndex
from tests.conftest import auth
from tests.search.conftest import PENALTY, decision, publish

ANALYZER = Analyzer()


def post(client, body):
    """Publish without waiting for the index (conftest.publish waits)."""
    return client.post("/v1/decisions", data=json.dumps(body, ensure_ascii=False),
                       headers={**auth("publisher"), "Content-Type": "application/json"})


def total(client, **args) -> int:
    resp = client.get("/v1/search", query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["total"]


def numbered(i: int, **changes) -> dict:
    return decision(PENALTY, number=f"鞍审批罚决字〔2026〕第{i}号", **changes)


def test_a_decision_is_searchable_within_a_second_of_its_201(sqlite_search):
    _, client = sqlite_search
    for i in range(1, 4):
        assert post(client, numbered(i, content=f"罚款人民币{i}万元，编号NRT{i:04d}。")).status_code == 201
        created = time.monotonic()
        while total(client, q=f"NRT{i:04d}") != 1:
            assert time.monotonic() - created < 1.0, "not searchable within a second"
            time.sleep(0.02)


def test_a_burst_of_publications_is_committed_in_batches(sqlite_search):
    app, client = sqlite_search
    index = app.extensions["zhifa.runtime"].index
    before, started = index.commits, time.monotonic()
    for i in range(1, 101):
        assert post(client, numbered(i)).status_code == 201
    elapsed = time.monotonic() - started
    index.refresh()
    commits = index.commits - before
    # at most one commit per interval while they arrive, and the last one after
    assert commits <= elapsed / index.commit_interval + 2 and commits < 50, (commits, elapsed)
    assert total(client, q="住所变更") == 100


def test_withdrawal_leaves_search_at_once_and_the_index_soon(sqlite_search):
    app, client = sqlite_search
    index = app.extensions["zhifa.runtime"].index
    publish(client, PENALTY)
    client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "撤销"}, headers=auth("publisher"))
    assert total(client, q="住所变更") == 0            # the database check hides it before the commit
    index.refresh()
    assert index.count() == 0


def test_a_withdrawal_answers_once_another_process_no_longer_finds_it(sqlite_search):
    """Searches read the index only: the DELETE's 200 comes after the index commit, so a
    reader of the same directory (another web process) does not show it either."""
    app, client = sqlite_search
    index = app.extensions["zhifa.runtime"].index
    publish(client, PENALTY)
    other = TantivyIndex(index.root, ANALYZER)
    assert other.search(SearchQuery(parse_terms("住所变更"))).total == 1
    resp = client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "撤销"}, headers=auth("publisher"))
    assert resp.status_code == 200
    assert other.search(SearchQuery(parse_terms("住所变更"))).total == 0
    other.close()


def test_a_delete_not_yet_committed_is_already_out_of_totals_and_facets(sqlite_search):
    """Another process holds the writer (a long commit or a rebuild): the withdrawal's commit
    waits, and meanwhile this process's searches leave it out, counts and facets included."""
    import fcntl
    app, client = sqlite_search
    index = app.extensions["zhifa.runtime"].index
    publish(client, PENALTY)
    publish(client, numbered(7))
    with open(index.root / "writer.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        resp = client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "撤销"},
                             headers=auth("publisher"))
        assert resp.status_code == 200          # answered after a bounded wait
        answer = client.get("/v1/search", query_string={"q": "住所变更"}).get_json()
        assert answer["total"] == 1 and answer["facets"]["kind"] == {"penalty": 1}
        assert [h["number"] for h in answer["hits"]] == [numbered(7)["number"]]
        fcntl.flock(held, fcntl.LOCK_UN)
    index.refresh()
    assert total(client, q="住所变更") == 1


def _doc(n: int, body: str = "罚款人民币一万元。") -> IndexDoc:
    return IndexDoc(f"鞍罚决字〔2026〕第{n}号", "penalty", "行政处罚决定书", "鞍山市营商环境建设局", "示例公司",
                    date(2026, 3, 1), date(2029, 3, 1), body)


def _writer_process(path: str, first: int, count: int, done) -> None:
    index = TantivyIndex(path, Analyzer(), commit_interval=0.05)
    for n in range(first, first + count):
        index.upsert([_doc(n, f"第{n}号进程写入。")])
        time.sleep(0.005)
    index.close()           # commits what is queued
    done.put(index.commits)


def test_two_processes_write_one_directory_in_turn(tmp_path):
    """Tantivy allows one writer per directory: each process takes writer.lock
    for a commit cycle only; both processes' decisions end up in the index."""
    path = str(tmp_path / "index")
    TantivyIndex(path, ANALYZER).close()          # the directory and its first generation
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Queue()
    procs = [ctx.Process(target=_writer_process, args=(path, first, 60, done)) for first in (1, 1001)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    commits = [done.get(timeout=5) for _ in procs]
    assert all(1 <= c < 60 for c in commits), commits          # batched in each process too
    reader = TantivyIndex(path, ANALYZER)
    assert reader.count() == 120
    result = reader.search(SearchQuery(parse_terms("进程写入"), size=1))
    assert result.total == 120
    reader.close()


def test_another_process_commit_is_seen_by_a_reader(tmp_path):
    path = tmp_path / "index"
    reader, writer = TantivyIndex(path, ANALYZER), TantivyIndex(path, ANALYZER)
    writer.upsert([_doc(1)])
    writer.refresh()
    assert reader.search(SearchQuery(parse_terms("罚款"))).total == 1      # no restart, no wait
    writer.rebuild(iter([_doc(2), _doc(3)]))                               # a rebuild elsewhere
    assert reader.search(SearchQuery(parse_terms("罚款"))).total == 2
    reader.close(), writer.close()


def test_the_database_version_is_what_gets_written(tmp_path):
    """Two processes may queue two versions of one decision in either order; the
    commit writes what the database holds then, so the older one never wins."""
    current = {"鞍罚决字〔2026〕第1号": _doc(1, "改为没收违法所得。")}
    index = TantivyIndex(tmp_path / "index", ANALYZER, loader=lambda numbers: {
        n: current[n] for n in numbers if n in current})
    index.upsert([_doc(1, "罚款人民币一万元。")])          # a stale version queued late
    index.refresh()
    assert index.search(SearchQuery(parse_terms("没收"))).total == 1
    assert index.search(SearchQuery(parse_terms("罚款"))).total == 0
    current.clear()                                        # withdrawn meanwhile
    index.upsert([_doc(1)])
    index.refresh()
    assert index.count() == 0
    index.close()


# -- start: missing, corrupt or outdated index --------------------------------------------

@pytest.fixture
def service(zhifa_env, tmp_path):
    """Start the search app on one data dir as often as asked; closes them all."""
    from services.search.app import create_app
    apps = []

    def start():
        app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}"))
        apps.append(app)
        return app, app.test_client()
    yield start
    for app in apps:
        app.extensions["zhifa.runtime"].close()


def _generation(app):
    root = app.extensions["zhifa.runtime"].index.root
    return root, root / json.loads((root / "CURRENT").read_text())["generation"]


@pytest.mark.parametrize("damage", ["deleted", "corrupt", "other schema", "pointer garbage"])
def test_a_lost_or_damaged_index_is_rebuilt_from_the_database_on_start(service, damage):
    import shutil
    app, client = service()
    for i in range(1, 4):
        publish(client, numbered(i))
    root, live = _generation(app)
    app.extensions["zhifa.runtime"].close()
    if damage == "deleted":
        shutil.rmtree(root)
    elif damage == "corrupt":
        (live / "meta.json").write_text("{not json")
    elif damage == "other schema":
        pointer = json.loads((root / "CURRENT").read_text())
        (root / "CURRENT").write_text(json.dumps({**pointer, "schema": 0}))
    else:
        (root / "CURRENT").write_bytes(b"\x00\xff")
    _, client = service()
    assert total(client, q="住所变更") == 3


def test_a_large_rebuild_runs_in_the_background_and_searches_say_so(service, monkeypatch):
    from services.search import tantivy_index
    app, client = service()
    for i in range(1, 4):
        publish(client, numbered(i))
    root, _ = _generation(app)
    app.extensions["zhifa.runtime"].close()
    (root / "CURRENT").unlink()
    import shutil
    shutil.rmtree(root)
    monkeypatch.setattr(tantivy_index, "SYNC_REBUILD_BELOW", 1)
    release = threading.Event()
    original = TantivyIndex.rebuild

    def slow_rebuild(self, docs, progress=None, workers=1):
        release.wait(30)
        return original(self, docs, progress, workers=1)
    monkeypatch.setattr(TantivyIndex, "rebuild", slow_rebuild)
    _, client = service()
    resp = client.get("/v1/search", query_string={"q": "住所变更"})
    assert resp.status_code == 503
    problem = resp.get_json()
    assert problem["type"].endswith("index-rebuilding") and "重建" in problem["title"] and "3" in problem["detail"]
    assert post(client, numbered(4)).status_code == 201          # publishing goes on meanwhile
    release.set()
    deadline = time.monotonic() + 20
    while client.get("/v1/search").status_code == 503:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert total(client, q="住所变更") == 4
