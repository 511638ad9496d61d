"""Seals are never stuck: the request records the job in the same
transaction as "sealing" (shared/outbox.py), so Redis down at that moment
gives 202 and the seal completes once Redis is back; a worker killed with
SIGKILL mid-seal is replaced within a minute and leaves no partial file.
Plus the outbox itself, as the generator will reuse it."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from shared.db import create_schema, make_engine, session_factory, transaction
from shared.jobs import Jobs
from shared.outbox import Outbox, outbox_table, record
from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.archive.test_sessions import make_app
from tests.conftest import auth, start_worker

ARCHIVIST = auth("archivist")
REASON = {"override_reason": "测试：纸质文书另卷归档"}


# --- the reusable piece ------------------------------------------------------

CALLS: list[tuple] = []
BOX: dict[str, Outbox] = {}


def task(*args) -> None:
    CALLS.append(("run", *args))
    if args and args[0] == "boom":
        raise RuntimeError("/srv/secret/path failed")


def given_up(*args) -> None:
    CALLS.append(("given_up", *args))


def current_box() -> Outbox:
    return BOX["box"]


@pytest.fixture
def box(tmp_path):
    CALLS.clear()
    metadata = MetaData()
    table = outbox_table(metadata)
    engine = make_engine(f"sqlite:///{tmp_path / 'o.sqlite3'}")
    create_schema(engine, metadata)
    jobs = Jobs("outbox-test", None)
    outbox = Outbox(session_factory(engine), table, jobs, f"{__name__}.current_box", lease_seconds=1,
                    drain_seconds=0.2, max_attempts=3)
    BOX["box"] = outbox
    yield outbox, table
    outbox.stop()
    jobs.shutdown()
    engine.dispose()


def settle(seconds: float = 0.5) -> None:
    time.sleep(seconds)


def test_outbox_runs_what_committed_and_nothing_that_rolled_back(box):
    outbox, table = box
    with transaction(outbox.sessions) as session:
        record(session, table, f"{__name__}.task", ["kept", 1])
    with pytest.raises(RuntimeError), transaction(outbox.sessions) as session:
        record(session, table, f"{__name__}.task", ["rolled back"])
        raise RuntimeError("the caller's change failed")
    assert outbox.drain() == 1
    settle()
    assert CALLS == [("run", "kept", 1)]
    assert outbox.drain() == 0            # done: never handed out again


def test_a_row_handed_out_twice_runs_once_and_an_abandoned_one_is_taken_over(box):
    outbox, table = box
    with transaction(outbox.sessions) as session:
        entry = record(session, table, f"{__name__}.task", ["once"])
        dead = record(session, table, f"{__name__}.task", ["abandoned"])
        # A runner that was killed: it held the lease, which has run out.
        from datetime import datetime, timedelta, timezone
        session.execute(table.update().where(table.c.id == dead).values(
            runner="killed-worker", attempts=1, lease_until=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert outbox.run(entry) and not outbox.run(entry)     # a duplicate delivery does nothing
    assert outbox.drain() == 1                              # only the abandoned row
    settle()
    assert CALLS == [("run", "once"), ("run", "abandoned")]


def test_a_job_that_keeps_failing_is_given_up_and_its_handler_told(box):
    outbox, table = box
    outbox.drain_seconds = 0.01
    with transaction(outbox.sessions) as session:
        entry = record(session, table, f"{__name__}.task", ["boom"], on_give_up=f"{__name__}.given_up")
    outbox.start()
    deadline = time.monotonic() + 20
    while not any(c[0] == "given_up" for c in CALLS):
        assert time.monotonic() < deadline, CALLS
        time.sleep(0.05)
    assert [c for c in CALLS if c[0] == "run"] == [("run", "boom")] * 3
    reason = next(c for c in CALLS if c[0] == "given_up")[2]
    assert "/srv" not in reason                            # the error's kind, not its paths
    with outbox.sessions() as session:
        assert session.execute(select(table.c.state).where(table.c.id == entry)).scalar() == "given_up"


class NoWorkerQueue:
    """Stands in for a queue whose workers are all down: takes jobs, runs none."""
    def __init__(self):
        self.enqueued: list[tuple] = []

    def enqueue(self, *job) -> str:
        self.enqueued.append(job)
        return "queued"


def test_a_row_waiting_for_a_worker_waits_and_is_not_given_up(box):
    outbox, table = box
    queue = outbox.jobs = NoWorkerQueue()
    outbox.dispatch_lease = outbox.lease = __import__("datetime").timedelta(seconds=0.2)
    with transaction(outbox.sessions) as session:
        entry = record(session, table, f"{__name__}.task", ["patient"], on_give_up=f"{__name__}.given_up")
    for _ in range(outbox.max_attempts + 3):
        outbox.drain()
        time.sleep(0.25)                                 # its hand-out looks lost: handed out again
    assert len(queue.enqueued) == outbox.max_attempts + 3 and not any(c[0] == "given_up" for c in CALLS)
    assert outbox.run(entry) and CALLS == [("run", "patient")]   # a worker is back


# --- the archive's seals with real Redis and real workers ---------------------

def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def case_with_a_scan(client, number: str) -> dict:
    case = open_case(client, archive_number=number, decision_number="鞍审批许准字〔2026〕第9号")
    assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "营业执照复印件", "kind": "evidence",
                                                                        "date": "2026-03-02"}).status_code == 201
    return case


def blob_root(app) -> Path:
    return app.extensions["zhifa.runtime"].blobs.root


def assert_store_clean(root: Path) -> None:
    """No temp file or work directory, and every blob is whole (its bytes hash to its name)."""
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    for path in root.rglob("*"):
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            assert digest.hexdigest() == path.name, f"partial blob {path.name}"


@pytest.mark.redis
def test_redis_down_at_seal_is_202_and_the_seal_completes_when_it_is_back(zhifa_env, seal_p12, tmp_path, own_redis):
    app = make_app(zhifa_env, seal_p12, tmp_path, ZHIFA_REDIS_URL=own_redis.url)
    client = app.test_client()
    worker = None
    try:
        case = case_with_a_scan(client, "A012-2026-Y-0401")
        own_redis.stop()
        resp = client.post(f"/v1/case-files/{case['id']}/seal", json=REASON, headers=ARCHIVIST)
        assert resp.status_code == 202, resp.get_json()
        assert resp.get_json()["status"] == "sealing"
        assert client.get("/readyz").status_code == 503          # the queue is down, and says so
        time.sleep(6)                                             # a drain or two fails meanwhile: nothing lost
        assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["status"] == "sealing"
        own_redis.start()                                         # an empty Redis: the job lives in the outbox
        worker = start_worker(tmp_path, "worker", own_redis.url, "archive")
        body = wait_sealed(client, case["id"], 90)
        assert body["status"] == "sealed", (tmp_path / "worker.log").read_text()
        ledger = client.get("/v1/ledger", headers=ARCHIVIST).get_json()
        assert [e["sha256"] for e in ledger["entries"]] == [body["seal"]["sha256"]]
    finally:
        if worker is not None:
            stop(worker)
        app.extensions["zhifa.runtime"].close()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_seal_is_replaced_within_a_minute_and_leaves_no_partial_file(
        zhifa_env, seal_p12, tmp_path, own_redis, pg_url):
    app = make_app(zhifa_env, seal_p12, tmp_path, ZHIFA_REDIS_URL=own_redis.url, ZHIFA_ARCHIVE_DATABASE_URL=pg_url)
    client = app.test_client()
    first = second = None
    try:
        case = case_with_a_scan(client, "A012-2026-Y-0402")
        # A long recording (about 120 MB) keeps the seal busy long enough to be killed in the middle.
        assert upload(client, case["id"], "hearing.wav", samples.wav(seconds=1800, rate=66000),
                      {"title": "听证录音", "kind": "evidence", "date": "2026-03-03"}).status_code == 201
        first = start_worker(tmp_path, "first", own_redis.url, "archive")
        assert client.post(f"/v1/case-files/{case['id']}/seal", json=REASON,
                           headers=ARCHIVIST).status_code == 202
        root, deadline = blob_root(app), time.monotonic() + 90
        while not list(root.glob(f".seal-{case['id']}-*/*")):     # the sealed file is being written
            assert time.monotonic() < deadline and first.poll() is None, (tmp_path / "first.log").read_text()
            time.sleep(0.005)
        os.kill(first.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        first.wait(timeout=10)
        assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["status"] == "sealing"
        assert list(root.glob(".seal-*"))                         # the killed run's partial file is there
        second = start_worker(tmp_path, "second", own_redis.url, "archive")
        body = wait_sealed(client, case["id"], 90)
        assert body["status"] == "sealed", (tmp_path / "second.log").read_text()
        print(f"sealed {time.monotonic() - killed_at:.1f} s after the kill")
        assert time.monotonic() - killed_at < 60
        assert_store_clean(root)
        ledger = client.get("/v1/ledger", headers=ARCHIVIST).get_json()
        assert [e["sha256"] for e in ledger["entries"]] == [body["seal"]["sha256"]]
    finally:
        for proc in (first, second):
            if proc is not None:
                stop(proc)
        app.extensions["zhifa.runtime"].close()
