"""A served search process prepares publications in other processes
(preparing.py): the same answers as in-process, refusals included, and the
decision searchable within a second as before."""
from __future__ import annotations

import json
import time

import pytest

from tests.conftest import auth
from tests.search.conftest import LICENSE, PENALTY, PERSON_PENALTY, decision


def post(client, body):
    return client.post("/v1/decisions", data=json.dumps(body, ensure_ascii=False),
                       headers={**auth("publisher"), "Content-Type": "application/json"})


@pytest.fixture
def pooled(zhifa_env, tmp_path):
    from services.search.app import create_app
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 'search.sqlite3'}"))
    rt = app.extensions["zhifa.runtime"]
    rt.start_preparing(1)
    assert rt.decisions.pool is not None, "the preparing process did not start"
    yield app, app.test_client()
    rt.close()


def test_another_process_prepares_the_same_publication(pooled):
    app, client = pooled
    rt = app.extensions["zhifa.runtime"]
    for body in (PENALTY, LICENSE, PERSON_PENALTY):
        here = rt.decisions._prepare(json.loads(json.dumps(body)))
        there = rt.decisions.prepare(json.loads(json.dumps(body)))
        assert there.indexed is not None            # segmented there too
        assert there.values == here.values and there.outcome.digest == here.outcome.digest
    published = time.monotonic()
    assert post(client, PERSON_PENALTY).status_code == 201
    page = client.get(f"/v1/decisions/{PERSON_PENALTY['number']}").get_json()
    assert "210302198001011233" not in json.dumps(page, ensure_ascii=False) and "13904120000" not in page["summary"]
    while client.get("/v1/search", query_string={"q": "散装白酒"}).get_json()["total"] != 1:
        assert time.monotonic() - published < 1.0, "not searchable within a second of its 201"
        time.sleep(0.02)


def test_refusals_come_back_as_they_are(pooled):
    _, client = pooled
    resp = post(client, decision(PENALTY, title="", decided_on="2026-02-30"))
    assert resp.status_code == 422
    assert {"title", "decided_on"} <= {e["path"] for e in resp.get_json()["errors"]}
    resp = post(client, decision(PENALTY, penalties=[{"kind": "警告"}]))
    assert resp.status_code == 422 and resp.get_json()["type"].endswith("not-publishable")
    assert resp.get_json()["title"] and resp.content_type.startswith("application/problem+json")


def test_closing_stops_the_preparing_processes(zhifa_env, tmp_path):
    from services.search.app import create_app
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 'search.sqlite3'}"))
    rt = app.extensions["zhifa.runtime"]
    rt.start_preparing(2)
    workers = [w.process for w in rt.decisions.pool.workers]
    assert len(workers) == 2 and all(w.is_alive() for w in workers)
    rt.close()
    for w in workers:
        w.join(10)
    assert not any(w.is_alive() for w in workers)


def test_a_killed_preparing_process_costs_no_publication_and_is_replaced(pooled):
    import os
    import signal
    app, client = pooled
    pool = app.extensions["zhifa.runtime"].decisions.pool
    lost = pool.workers[0].process
    os.kill(lost.pid, signal.SIGKILL)
    lost.join(10)
    assert post(client, PENALTY).status_code == 201          # prepared in the web process instead
    deadline = time.monotonic() + 60
    while not (pool.workers and pool.workers[0].process is not lost and pool._idle.qsize() == 1):
        assert time.monotonic() < deadline, "no preparing process took the lost one's place"
        time.sleep(0.1)
    there = app.extensions["zhifa.runtime"].decisions.prepare(json.loads(json.dumps(LICENSE)))
    assert there.indexed is not None                          # prepared by the new process
    assert post(client, LICENSE).status_code == 201
