"""The generator unreachable while the archive fetches one of its documents or the search service
publishes one by document_id or verifies a QR code: the caller gets a problem naming the
generator (文书生成服务) within a bounded time, and nothing is changed (no item in the case file,
no decision, no audit entry), whether the generator is stopped (its port refuses) or hangs (a
port that accepts and never answers). Once it is back, the same calls succeed.

`zhifa serve generator|archive|search` as real processes on loopback ports (SQLite, inline jobs,
real LibreOffice)."""
from __future__ import annotations

import copy
import socket
import threading
import time
import urllib.parse

import pytest

from services.generator.catalogue import Catalogue
from tests.archive.conftest import LICENSE_CASE
from tests.conftest import TOKENS, free_port
from tests.e2e.served import clean_env, is_problem, serve

CATALOGUE = Catalogue()
GENERATOR = "文书生成服务"


@pytest.fixture
def system(tmp_path):
    """A generator on a port of its own, and an archive and a search service that call it there."""
    port = free_port()
    env = clean_env(tmp_path, ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{port}", ZHIFA_SOFFICE_POOL_SIZE=1,
                    ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"])
    generator = serve("generator", tmp_path, env, port=port)
    archive = serve("archive", tmp_path, env)
    search = serve("search", tmp_path, {**env, "ZHIFA_GENERATOR_TOKEN": TOKENS["publisher"]})
    procs = [generator, archive, search]
    try:
        for proc in procs:
            proc.wait_ready("/readyz" if proc is generator else "/healthz")
        yield generator, archive, search
    finally:
        for proc in procs:
            proc.stop()


def issue(generator, doc_type: str) -> dict:
    data = copy.deepcopy(CATALOGUE.get(doc_type).example)
    status, _, doc = generator.call("POST", "/v1/documents", {"type": doc_type, "data": data, "formats": ["pdf"]})
    assert status == 201, doc
    return doc


def attempts(archive, search, case_id: str, grant: dict, decision: dict) -> dict:
    """The three calls that reach the generator, at once: {name: (status, headers, body, seconds)}."""
    verify = "/verify?" + urllib.parse.urlencode({"number": decision["number"], "code": decision["verification_code"]})
    calls = {"archive": lambda: archive.call("POST", f"/v1/case-files/{case_id}/items", {"document_id": grant["id"]},
                                             "archivist"),
             "publish": lambda: search.call("POST", "/v1/decisions", {"document_id": decision["id"]}, "publisher"),
             "verify": lambda: search.call("GET", verify, role=None)}
    results = {}

    def run(name):
        started = time.monotonic()
        results[name] = (*calls[name](), time.monotonic() - started)
    threads = [threading.Thread(target=run, args=(name,)) for name in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return results


def assert_nothing_changed(archive, search, case_id: str, decision: dict) -> None:
    status, _, case = archive.call("GET", f"/v1/case-files/{case_id}", role="archivist")
    assert status == 200 and case["items"] == [], case
    status, _, body = search.call("GET", f"/v1/decisions/{urllib.parse.quote(decision['number'])}", role=None)
    assert status == 404, body
    status, _, found = search.call("GET", "/v1/search", role=None)
    assert status == 200 and found["total"] == 0
    status, _, audit = search.call("GET", "/v1/audit", role="admin")
    assert status == 200 and [e for e in audit["entries"] if "publish" in e["action"]] == [], audit


def test_a_stopped_generator_gives_503_naming_it_at_once_nothing_changes_and_all_works_once_it_is_back(system):
    generator, archive, search = system
    grant, decision = issue(generator, "license_grant_decision"), issue(generator, "penalty_decision")
    status, _, case = archive.call("POST", "/v1/case-files", {**LICENSE_CASE, "decision_number": grant["number"]},
                                  "archivist")
    assert status == 201, case
    generator.kill()                                           # its port now refuses connections

    results = attempts(archive, search, case["id"], grant, decision)
    for name in ("archive", "publish"):
        status, headers, body, seconds = results[name]
        assert status == 503 and is_problem(headers, body, 503), (name, body)
        assert body["title"] == f"{GENERATOR}暂不可用", body
        print(f"{name}: {status} in {seconds:.1f} s")
        assert seconds < 15, (name, seconds)                   # a refused connection: one retry, no long wait
    status, headers, page, seconds = results["verify"]
    assert status == 503 and headers["Content-Type"].startswith("text/html") and "核验服务暂时不可用" in page
    assert seconds < 15
    assert_nothing_changed(archive, search, case["id"], decision)

    generator.start().wait_ready("/readyz")                   # back, same port and data
    status, _, item = archive.call("POST", f"/v1/case-files/{case['id']}/items", {"document_id": grant["id"]},
                                   "archivist")
    assert status == 201 and item["number"] == grant["number"], item
    status, _, published = search.call("POST", "/v1/decisions", {"document_id": decision["id"]}, "publisher")
    assert status == 201, published
    status, _, page = search.call("GET", "/verify?" + urllib.parse.urlencode(
        {"number": decision["number"], "code": decision["verification_code"]}), role=None)
    assert status == 200 and "核验通过" in page


def test_a_generator_that_never_answers_gives_504_naming_it_after_one_read_timeout_and_nothing_changes(
        system, tmp_path):
    generator, archive, search = system
    grant, decision = issue(generator, "license_grant_decision"), issue(generator, "penalty_decision")
    status, _, case = archive.call("POST", "/v1/case-files", {**LICENSE_CASE, "decision_number": grant["number"]},
                                  "archivist")
    assert status == 201, case
    generator.kill()
    silent = socket.socket()        # the generator's port accepts connections and never answers (hung host)
    silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    silent.bind(("127.0.0.1", generator.port))
    silent.listen(64)
    try:
        results = attempts(archive, search, case["id"], grant, decision)
    finally:
        silent.close()
    for name in ("archive", "publish"):
        status, headers, body, seconds = results[name]
        assert status == 504 and is_problem(headers, body, 504), (name, body)
        assert body["title"] == f"{GENERATOR}未及时答复", body
        print(f"{name}: {status} in {seconds:.1f} s")
        # One read timeout of the service client (60 s), not two: a timed-out GET is not sent again.
        assert 55 < seconds < 100, (name, seconds)
    status, headers, page, seconds = results["verify"]
    print(f"verify page: {status} in {seconds:.1f} s")
    assert status == 503 and "核验服务暂时不可用" in page and seconds < 30     # the page's own 10 s timeout
    assert_nothing_changed(archive, search, case["id"], decision)
    downloads = [p for p in (tmp_path / "var").rglob(".download-*")]
    assert downloads == []                                       # no half-fetched file left behind
