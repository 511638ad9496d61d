"""LibreOffice hanging (SIGSTOP) or crashing (SIGKILL) under a conversion, in a served generator's
own pool and in a worker's: the conversion is given up after ZHIFA_SOFFICE_TIMEOUT and retried
on a restarted LibreOffice, the document gets its PDF, the stopped process is gone, and the next
conversions succeed (the pool recovered, no worker stuck).

Real processes: `zhifa serve generator`, `zhifa worker generator`, their soffice.bin found by
their profile directories (var/generator/soffice/<pid>-…), PostgreSQL and a redis-server of
the test's own for the worker."""
from __future__ import annotations

import copy
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from services.generator.catalogue import Catalogue
from tests.e2e.served import clean_env, serve, wait_until, worker

CATALOGUE = Catalogue()
TIMEOUT = 12            # ZHIFA_SOFFICE_TIMEOUT for these tests


def body(name: str) -> dict:
    data = copy.deepcopy(CATALOGUE.get("rectification_order").example)
    data["party"]["name"] = name
    return {"type": "rectification_order", "data": data}


def soffice_of(pid: int) -> list[int]:
    """The soffice.bin processes of the pool of process `pid` (their profiles live under its work dir)."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            comm = Path(f"/proc/{entry.name}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "soffice.bin" and f"/soffice/{pid}-".encode() in cmdline and _state(int(entry.name)) != "Z":
            found.append(int(entry.name))
    return found


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])          # utime + stime


def metric(generator, name: str) -> float:
    _, _, text = generator.call("GET", "/metrics", role="admin")
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "_total "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def pdf_status(generator, document_id: str) -> str:
    return generator.call("GET", f"/v1/documents/{document_id}")[2]["files"]["pdf"]["status"]


def post_async(generator, payload: dict) -> dict:
    status, _, doc = generator.call("POST", "/v1/documents", payload, headers={"Prefer": "respond-async"})
    assert status == 201 and doc["files"]["pdf"]["status"] == "pending", doc
    return doc


@pytest.mark.postgres
@pytest.mark.redis
def test_a_hung_libreoffice_in_a_worker_is_killed_after_the_timeout_the_pdf_is_made_and_the_worker_goes_on(
        tmp_path, pg_url, own_redis):
    env = clean_env(tmp_path, ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=own_redis.url,
                    ZHIFA_DEPLOYMENT=f"faults{own_redis.port}", ZHIFA_SOFFICE_POOL_SIZE=1,
                    ZHIFA_SOFFICE_TIMEOUT=TIMEOUT)
    generator = serve("generator", tmp_path, env)
    hands = None
    try:
        generator.wait_ready("/readyz")
        hands = worker("generator", tmp_path, env, "worker")
        first = generator.call("POST", "/v1/documents", body("鞍山市甲商贸有限公司"))[2]     # the web pool's own PDF
        assert first["files"]["pdf"]["status"] == "done", first
        # The worker's LibreOffice is running once it has made a PDF.
        warm = post_async(generator, body("鞍山市乙商贸有限公司"))
        wait_until(lambda: pdf_status(generator, warm["id"]) == "done", 180, "the worker's first PDF", hands)
        [stopped] = soffice_of(hands.proc.pid)
        os.kill(stopped, signal.SIGSTOP)                     # hangs: alive, holding its pipe, never answering
        wait_until(lambda: _state(stopped) == "T", 10, "the process stopped")

        sent = time.monotonic()
        doc = post_async(generator, body("鞍山市丙商贸有限公司"))
        wait_until(lambda: pdf_status(generator, doc["id"]) == "done", 180, "the PDF after the hang", hands)
        took = time.monotonic() - sent
        print(f"PDF made {took:.1f} s after the request (timeout {TIMEOUT} s, then a fresh LibreOffice)")
        assert took > TIMEOUT                                # it did wait on the hung process, then gave up on it
        assert "timed out" in hands.log()
        assert _state(stopped) in (None, "Z")                # the hung process is gone
        assert hands.alive()
        # The worker goes on: the next documents get their PDFs, none waits behind a stuck conversion.
        later = [post_async(generator, body(f"鞍山市丁商贸有限公司{i}")) for i in range(3)]
        started = time.monotonic()
        for d in later:
            wait_until(lambda: pdf_status(generator, d["id"]) == "done", 120, "a later PDF", hands)
        print(f"three more PDFs {time.monotonic() - started:.1f} s after")
        assert len(soffice_of(hands.proc.pid)) == 1 and all(_state(p) != "T" for p in soffice_of(hands.proc.pid))
    finally:
        for proc in (hands, generator):
            if proc is not None:
                proc.stop()


def test_libreoffice_killed_mid_conversion_under_a_request_is_restarted_and_the_request_still_gets_its_pdf(
        tmp_path):
    env = clean_env(tmp_path, ZHIFA_SOFFICE_POOL_SIZE=1, ZHIFA_SOFFICE_TIMEOUT=TIMEOUT)
    generator = serve("generator", tmp_path, env)
    try:
        generator.wait_ready("/readyz")
        warm = generator.call("POST", "/v1/documents", body("鞍山市戊商贸有限公司"))[2]
        assert warm["files"]["pdf"]["status"] == "done", warm
        restarts = metric(generator, "zhifa_soffice_restarts")
        [victim] = soffice_of(generator.proc.pid)
        idle = cpu_ticks(victim)
        answer: dict = {}

        def request():
            started = time.monotonic()
            answer["response"] = generator.call("POST", "/v1/documents", body("鞍山市己商贸有限公司"))
            answer["seconds"] = time.monotonic() - started
        thread = threading.Thread(target=request)
        thread.start()
        # Crash it as soon as it works on the request (its CPU time moves), not after it answered.
        wait_until(lambda: cpu_ticks(victim) > idle, 60, "the conversion under way", generator, poll=0.005)
        os.kill(victim, signal.SIGKILL)
        thread.join(180)
        status, _, doc = answer["response"]
        print(f"answered {status} in {answer['seconds']:.1f} s after LibreOffice was killed mid-conversion")
        assert status == 201 and doc["files"]["pdf"]["status"] == "done", doc
        assert answer["seconds"] < 2 * TIMEOUT + 90          # one attempt, a restart, a second attempt
        assert metric(generator, "zhifa_soffice_restarts") >= restarts + 1
        status, headers, pdf = generator.call("GET", f"/v1/documents/{doc['id']}/pdf")
        assert status == 200 and headers["Content-Type"] == "application/pdf"
        for i in range(2):                                   # the pool recovered: the next ones just work
            status, _, after = generator.call("POST", "/v1/documents", body(f"鞍山市庚商贸有限公司{i}"))
            assert status == 201 and after["files"]["pdf"]["status"] == "done", after
        assert len(soffice_of(generator.proc.pid)) == 1
    finally:
        generator.stop()
