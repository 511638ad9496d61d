"""The three services as one system: `zhifa serve generator|archive|search` as real
processes on loopback ports, once on the embedded defaults (SQLite, inline jobs)
and once with PostgreSQL, Redis and RQ workers; `zhifa demo` walks a licensing
and a penalty case through them over HTTP, and the test then checks, as each
user would, what the system holds: decisions pending publication (with the due
date the generator computed), published, found by citizens; case files
collected in one click, sealed and verifiable."""
from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from sqlalchemy import create_engine, text

from services.generator.catalogue import Catalogue
from services.generator.rendering import qr_png
from tests.conftest import PG_ADMIN_URL, TOKENS, RedisServer, free_port, http_call

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Catalogue()
SERVICES = ("generator", "archive", "search")


def call(base: str, method: str, path: str, body=None, role: str | None = "case-system"):
    status, _, raw = http_call(base, method, path, body, TOKENS[role] if role else None)
    try:
        return status, json.loads(raw or b"null")
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class System:
    def __init__(self, tmp: Path, env: dict, urls: dict):
        self.tmp, self.env, self.urls = tmp, env, urls
        self.procs: list[subprocess.Popen] = []
        self.log = open(tmp / "system.log", "w")

    def start(self, *argv: str) -> None:
        self.procs.append(subprocess.Popen([sys.executable, "-m", "services.cli", *argv], cwd=ROOT, env=self.env,
                                           stdout=self.log, stderr=subprocess.STDOUT))

    def wait_ready(self, workers: int = 0) -> None:
        deadline = time.monotonic() + 180
        while True:
            try:
                if all(call(url, "GET", "/readyz", role=None)[0] == 200 for url in self.urls.values()) \
                        and self._workers() >= workers:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                raise AssertionError((self.tmp / "system.log").read_text()[-6000:])
            time.sleep(0.5)

    def _workers(self) -> int:
        if not self.env.get("ZHIFA_REDIS_URL"):
            return 0
        from redis import Redis
        from rq import Worker
        return Worker.count(connection=Redis.from_url(self.env["ZHIFA_REDIS_URL"]))

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=40)
            except subprocess.TimeoutExpired:
                p.kill()
        self.log.close()


def _databases(count: int) -> tuple[list[str], callable]:
    """`count` fresh PostgreSQL databases with unique names, and a function that drops them."""
    names = [f"zhifa_flow_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return [PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{n}" for n in names], drop


@pytest.fixture(scope="module", params=["embedded", "postgres-redis-rq"])
def system(request, tmp_path_factory):
    """The system, started once per mode for this module's tests (each start costs LibreOffice and jieba)."""
    tmp_path = tmp_path_factory.mktemp(request.param)
    ports = {name: free_port() for name in SERVICES}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    keys = tmp_path / "api-keys"
    keys.write_text("".join(f"{t}={r}\n" for r, t in TOKENS.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")
           or k == "ZHIFA_FONTS_DIR"}
    env.update(ZHIFA_DATA_DIR=str(tmp_path / "var"), ZHIFA_API_KEYS_FILE=str(keys),
               ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"], ZHIFA_SEARCH_TOKEN=TOKENS["case-system"],
               ZHIFA_SOFFICE_POOL_SIZE="1", **{f"ZHIFA_{n.upper()}_URL": u for n, u in urls.items()})
    drop, redis = None, None
    if request.param == "postgres-redis-rq":
        own_redis = redis = RedisServer(tmp_path)
        redis.start()
        databases, drop = _databases(3)
        env.update(ZHIFA_REDIS_URL=own_redis.url, ZHIFA_DEPLOYMENT=f"flow{ports['generator']}",
                   **{f"ZHIFA_{n.upper()}_DATABASE_URL": url for n, url in zip(SERVICES, databases)})
    system = System(tmp_path, env, urls)
    for name in SERVICES:
        system.start("serve", name, "--port", str(ports[name]))
    workers = 0
    if request.param == "postgres-redis-rq":
        system.start("worker", "generator")
        system.start("worker", "archive", "search")
        workers = 2
    try:
        system.wait_ready(workers)
        yield system
    finally:
        system.stop()
        if drop:
            drop()
        if redis:
            redis.stop()


def test_demo_walks_a_licensing_and_a_penalty_case_through_the_three_services(system):
    g, a, s = (system.urls[n] for n in SERVICES)
    demo = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--generator", g, "--archive", a,
                           "--search", s, "--keys", system.env["ZHIFA_API_KEYS_FILE"]],
                          cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr + (system.tmp / "system.log").read_text()[-4000:]
    out = demo.stdout
    assert "行政许可案件" in out and "行政处罚案件" in out and "演示完成" in out
    assert "已逾期" not in out          # the demo's cases are dated today, whatever day it runs
    assert f"{s}/decisions/" in out and f"{s}/verify?number=" in out and f"{a}/case-files/" in out

    # Both decisions were pending publications and were published from them; nothing is left pending.
    status, published = call(s, "GET", "/v1/pending?status=published", role="publisher")
    assert status == 200 and published["total"] == 2, published
    kinds = sorted(e["kind"] for e in published["entries"])
    assert kinds == ["license", "penalty"]
    assert call(s, "GET", "/v1/pending?status=pending", role="publisher")[1]["total"] == 0
    for entry in published["entries"]:
        status, doc = call(g, "GET", f"/v1/documents/{entry['document_id']}")
        due = next(d["due_on"] for d in doc["deadlines"] if d["key"] == "publication_decision")
        assert entry["due_on"] == due and entry["number"] == doc["number"]      # the generator's calendar
        status, public = call(s, "GET", f"/v1/decisions/{quote(entry['published_number'])}", role=None)
        assert status == 200 and public["party"] == doc["data"]["party"]["name"]
        status, found = call(s, "GET", f"/v1/search?q={quote(public['party'])}", role=None)
        assert entry["published_number"] in [h["number"] for h in found["hits"]]
        # The decision's QR code carries the search service's verification page, and that page says authentic.
        link = f"{s}/verify?{urlencode({'number': doc['number'], 'code': doc['verification_code']})}"
        assert f"  核验页面: {link}" in out
        _, _, docx = http_call(g, "GET", f"/v1/documents/{doc['id']}/docx", token=TOKENS["archivist"])
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            assert qr_png(link) in [z.read(n) for n in z.namelist() if n.startswith("word/media/")]
        status, _, page = http_call(s, "GET", link[len(s):], token=None)
        assert status == 200 and "核验通过" in page.decode()

    # Both case files are sealed, each with its case's documents and the evidence, and verify.
    status, files = call(a, "GET", "/v1/case-files?status=sealed", role="archivist")
    assert status == 200 and files["total"] == 2, files
    for summary in files["case_files"]:
        status, cf = call(a, "GET", f"/v1/case-files/{summary['id']}", role="archivist")
        generated = [i for i in cf["items"] if i["source"] == "generator"]
        status, listed = call(g, "GET", f"/v1/documents?case_number={quote(cf['case_number'])}", role="archivist")
        assert sorted(i["document_id"] for i in generated) == sorted(d["id"] for d in listed["documents"])
        assert [i for i in cf["items"] if i["kind"] == "evidence"]
        assert cf["items"][0]["type"] in ("license_grant_decision", "penalty_decision")   # conclusion first
        # Collecting a sealed file again changes nothing.
        assert call(a, "POST", f"/v1/case-files/{cf['id']}/collect", {}, role="archivist")[0] == 409

    # Every step is in the search service's hash-chained record.
    status, audit = call(s, "GET", "/v1/audit?limit=1000", role="admin")
    actions = [e["action"] for e in audit["entries"]]
    assert audit["intact"] and actions.count("pending.add") == 2 and actions.count("publish") == 2


def test_decisions_become_pending_with_their_due_date_and_warnings_never_do(system):
    g, s = system.urls["generator"], system.urls["search"]
    warning = copy.deepcopy(CATALOGUE.get("penalty_decision").example)
    warning["decision"]["penalties"] = [{"kind": "警告"}]
    status, warned = call(g, "POST", "/v1/documents", {"type": "penalty_decision", "data": warning,
                                                      "formats": ["docx"]})
    assert status == 201, warned
    assert "publication_decision" not in [d["key"] for d in warned["deadlines"]]
    status, fined = call(g, "POST", "/v1/documents", {"type": "penalty_decision", "formats": ["docx"],
                                                     "data": CATALOGUE.get("penalty_decision").example})
    assert status == 201, fined
    due = next(d["due_on"] for d in fined["deadlines"] if d["key"] == "publication_decision")

    deadline = time.monotonic() + 120
    while True:      # the generator's outbox hands the notice to the search service
        status, overdue = call(s, "GET", "/v1/pending?status=overdue", role="publisher")
        if overdue["total"]:
            break
        assert time.monotonic() < deadline, (system.tmp / "system.log").read_text()[-4000:]
        time.sleep(0.5)
    (entry,) = overdue["entries"]
    # Decided 2026-11-16: due seven working days later, and past that date now.
    assert entry["document_id"] == fined["id"] and entry["due_on"] == due and entry["overdue"]
    assert entry["days_past_due"] > 0 and "118" in entry["basis"]
    status, pending = call(s, "GET", "/v1/pending", role="publisher")
    assert [e["document_id"] for e in pending["entries"]] == [fined["id"]]      # the warning never came

    # A notice delivered twice (an answer lost on the way) is kept once.
    status, again = call(s, "POST", "/v1/pending", {k: entry[k] for k in (
        "document_id", "number", "type", "title", "kind", "agency", "party", "decided_on", "due_on", "basis")})
    assert status == 200 and call(s, "GET", "/v1/pending", role="publisher")[1]["total"] == 1

    status, withheld = call(s, "POST", f"/v1/pending/{fined['id']}/withhold", {"reason": "当事人为未成年人"},
                            role="publisher")
    assert status == 200 and withheld["status"] == "withheld"
    assert call(s, "GET", "/v1/pending", role="publisher")[1]["total"] == 0
    status, problem = call(s, "POST", f"/v1/pending/{fined['id']}/publish", {}, role="publisher")
    assert status == 409 and problem["title"] == "该决定已登记为不予公示"


def test_a_publisher_publishes_a_pending_decision_from_the_page(system):
    import re

    import httpx
    g, s = system.urls["generator"], system.urls["search"]
    status, granted = call(g, "POST", "/v1/documents", {"type": "license_grant_decision", "formats": ["docx"],
                                                       "data": CATALOGUE.get("license_grant_decision").example})
    assert status == 201, granted
    deadline = time.monotonic() + 120
    while granted["id"] not in [e["document_id"] for e in call(s, "GET", "/v1/pending", role="publisher")[1]["entries"]]:
        assert time.monotonic() < deadline, (system.tmp / "system.log").read_text()[-4000:]
        time.sleep(0.5)
    with httpx.Client(base_url=s, timeout=120) as web:
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/publisher/login").text).group(1)
        assert web.post("/publisher/login", data={"csrf": csrf, "token": TOKENS["publisher"]}).status_code == 302
        page = web.get("/publisher/").text
        assert granted["number"] in page and "按文书公示" in page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        done = web.post(f"/publisher/{granted['id']}/publish", data={"csrf": csrf}, follow_redirects=True).text
        assert f"已公示：准予行政许可决定书 {granted['number']}" in done
    status, public = call(s, "GET", f"/v1/decisions/{quote(granted['number'])}", role=None)
    assert status == 200 and public["kind"] == "license" and public["party"] == granted["data"]["party"]["name"]
    (entry,) = [e for e in call(s, "GET", "/v1/pending?status=published", role="publisher")[1]["entries"]
                if e["document_id"] == granted["id"]]
    assert entry["published_number"] == granted["number"]
