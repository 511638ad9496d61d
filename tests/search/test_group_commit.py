"""Group commit of publications (group_commit.py): a burst of POSTs is stored
in a few transactions, each request still gets its own answer (201, 200, its
own 422 or its own failure), a decision the database refuses fails alone and
leaves nothing behind, and everything stored is searchable within a second.

The burst is made deterministic with the database itself: another connection
holds the write (SQLite: a write transaction; PostgreSQL: the audit chain's
lock), as another process committing would, so the requests queue behind the
first batch."""
from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from shared.db import _lock_key
from tests.conftest import auth
from tests.search.conftest import PENALTY, decision

BURST = 24


@contextmanager
def writes_held(database_url: str):
    """Another connection holds what a publication's transaction needs."""
    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    if database_url.startswith("sqlite"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("audit:audit_log")})
    try:
        yield
    finally:
        conn.exec_driver_sql("COMMIT")
        conn.close()
        engine.dispose()


def numbered(i: int, **changes) -> dict:
    return decision(PENALTY, **{"number": f"鞍审批罚决字〔2026〕第{i}号",
                                "content": f"罚款人民币{i}万元，批次编号GC{i:04d}。", **changes})


def burst(app, bodies: list[dict], held_for: float, database_url: str) -> list[tuple[int, dict, float]]:
    """POST every body at once (one client per thread) while the database write is held;
    (status, answer, time of the answer) per body, in order."""
    out: list = [None] * len(bodies)
    started = threading.Barrier(len(bodies) + 1)

    def post(i: int) -> None:
        client = app.test_client()
        started.wait()
        resp = client.post("/v1/decisions", data=json.dumps(bodies[i], ensure_ascii=False),
                           headers={**auth("publisher"), "Content-Type": "application/json"})
        out[i] = (resp.status_code, resp.get_json(), time.monotonic())

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    with writes_held(database_url):
        started.wait()
        time.sleep(held_for)            # every request is queued behind the first batch
    for t in threads:
        t.join(60)
    return out


def total(client, **args) -> int:
    resp = client.get("/v1/search", query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["total"]


def audit_entries(client) -> dict:
    return client.get("/v1/audit", query_string={"limit": 1000}, headers=auth("admin")).get_json()


def test_a_burst_is_stored_in_few_transactions_each_request_with_its_own_answer(search_app, database_url):
    app, client = search_app
    rt = app.extensions["zhifa.runtime"]
    first = client.post("/v1/decisions", data=json.dumps(numbered(1), ensure_ascii=False),
                        headers={**auth("publisher"), "Content-Type": "application/json"})
    assert first.status_code == 201
    before = rt.decisions._committer.batches
    bodies = [numbered(i) for i in range(2, BURST)]
    bodies.append(numbered(1, content="罚款人民币一万元，批次编号GC0001，已更正。"))     # a replacement: 200
    bodies.append(numbered(900, title=""))                                   # its own 422, naming the field
    bodies.append(numbered(901, penalties=[{"kind": "警告"}]))                # not publishable
    answers = burst(app, bodies, 1.0, database_url)

    for body, (status, answer, _) in zip(bodies[:BURST - 2], answers):
        assert status == 201, answer
        assert answer["number"] == body["number"] and answer["status"] == "published"
    status, answer, _ = answers[BURST - 2]
    assert status == 200 and answer["number"] == numbered(1)["number"]
    status, answer, _ = answers[BURST - 1]
    assert status == 422 and "title" in [e["path"] for e in answer["errors"]]
    status, answer, _ = answers[BURST]
    assert status == 422 and answer["type"].endswith("not-publishable")

    # one transaction for the first request, then the queued ones together (not one each)
    batches = rt.decisions._committer.batches - before
    assert batches <= 3, batches
    log = audit_entries(client)
    assert log["intact"]
    actions = [(e["action"], e["subject"]) for e in log["entries"]]
    assert actions.count(("replace", numbered(1)["number"])) == 1
    assert sorted(s for a, s in actions if a == "publish") == sorted(b["number"] for b in bodies[:BURST - 2]
                                                                     + [numbered(1)])

    # searchable within a second of the last 201
    last = max(at for status, _, at in answers if status in (200, 201))
    while total(client, q="批次编号") != BURST - 1 or total(client, q="已更正") != 1:
        assert time.monotonic() - last < 1.0, "not searchable within a second of its 201"
        time.sleep(0.02)


def _refuse_number(database_url: str, number: str) -> None:
    """A rule of the database's own refuses one decision (as a constraint or a full disk
    would refuse a row): the transaction that holds it fails."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        if database_url.startswith("sqlite"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse_one BEFORE INSERT ON decisions WHEN NEW.number = '{number}' "
                "BEGIN SELECT RAISE(ABORT, 'refused by the database'); END")
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                f"IF NEW.number = '{number}' THEN RAISE EXCEPTION 'refused by the database'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql")
            conn.exec_driver_sql("CREATE TRIGGER refuse_one BEFORE INSERT ON decisions "
                                 "FOR EACH ROW EXECUTE FUNCTION refuse_one()")
    engine.dispose()


def test_a_decision_the_database_refuses_fails_alone_and_leaves_nothing(search_app, database_url):
    app, client = search_app
    bad = numbered(13)
    _refuse_number(database_url, bad["number"])
    bodies = [numbered(i) for i in range(1, 21)]
    answers = burst(app, bodies, 0.5, database_url)

    for body, (status, answer, _) in zip(bodies, answers):
        if body["number"] == bad["number"]:
            assert status == 500 and answer["type"].endswith("internal-error")
        else:
            assert status == 201 and answer["number"] == body["number"], answer
    # nothing of the refused one: no row, no audit entry, no index entry; the chain intact
    assert client.get(f"/v1/decisions/{bad['number']}").status_code == 404
    log = audit_entries(client)
    assert log["intact"] and len(log["entries"]) == 19
    assert bad["number"] not in {e["subject"] for e in log["entries"]}
    app.extensions["zhifa.runtime"].index.refresh()
    assert total(client, q="批次编号") == 19 and total(client, q="GC0013") == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_closing_stores_what_is_queued(search_app, database_url):
    """A stopping server answers the publications under way (stored, not dropped)."""
    app, client = search_app
    rt = app.extensions["zhifa.runtime"]
    prepared = [rt.decisions.prepare(numbered(i)) for i in range(1, 6)]
    results: list = []
    threads = [threading.Thread(target=lambda p=p: results.append(rt.decisions.publish(p, "test")))
               for p in prepared]
    closer = threading.Thread(target=rt.decisions.close)
    with writes_held(database_url):
        for t in threads:
            t.start()
        time.sleep(0.3)             # queued behind the held write
        closer.start()
        time.sleep(0.2)
    for t in [*threads, closer]:
        t.join(30)
    assert sorted(d.number for d, created in results if created) == sorted(p.values["number"] for p in prepared)
    assert len(audit_entries(client)["entries"]) == 5
