"""End to end: `zhifa serve generator` and `zhifa worker` as real processes,
over HTTP, with PostgreSQL, Redis and LibreOffice; the PDF checked the way an
archivist's tools would check it."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pikepdf
import pytest

from services.generator.catalogue import Catalogue
from tests.conftest import TOKENS, free_port, http_call

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Catalogue()



call = http_call


@pytest.fixture
def service(tmp_path, pg_url, redis_url):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")}
    env.update(ZHIFA_DATA_DIR=str(tmp_path / "var"), ZHIFA_GENERATOR_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=redis_url,
               ZHIFA_API_KEYS=",".join(f"{t}={r}" for r, t in TOKENS.items()),
               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{port}", ZHIFA_DEPLOYMENT=f"e2e{port}",
               ZHIFA_PUBLIC_VERIFY_URL="https://zhifa.example.gov.cn/verify", ZHIFA_SOFFICE_POOL_SIZE="1")
    log = open(tmp_path / "service.log", "w")
    procs = [subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "generator", "--port", str(port)],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT),
             subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "generator"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)]
    base = f"http://127.0.0.1:{port}"
    from redis import Redis
    from rq import Worker
    deadline = time.monotonic() + 60
    while True:   # the server answers ready and the worker has registered with Redis
        try:
            if call(base, "GET", "/readyz", token=None)[0] == 200 \
                    and Worker.count(connection=Redis.from_url(redis_url)) >= 1:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            raise AssertionError((tmp_path / "service.log").read_text())
        time.sleep(0.3)
    yield base, tmp_path
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=30)
    log.close()
    # Stopping the service stops its LibreOffice processes too (their profiles live under tmp_path).
    deadline = time.monotonic() + 15
    while (left := _processes_mentioning(str(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not left, left


def _processes_mentioning(text: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", text], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_penalty_decision_pdf_is_pdfa_with_embedded_sc_fonts_and_verifiable(service):
    base, tmp = service
    data = copy.deepcopy(CATALOGUE.get("penalty_decision").example)
    status, _, raw = call(base, "POST", "/v1/documents", {"type": "penalty_decision", "data": data})
    assert status == 201, raw.decode()
    doc = json.loads(raw)
    assert doc["number"] == "鞍审批罚决字〔2026〕1号" and set(doc["files"]) == {"docx", "pdf"}

    status, headers, pdf = call(base, "GET", f"/v1/documents/{doc['id']}/pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf" and pdf.startswith(b"%PDF")
    path = tmp / "decision.pdf"
    path.write_bytes(pdf)

    with pikepdf.open(path) as pdf_doc:
        meta = pdf_doc.open_metadata()
        assert meta.get("pdfaid:part") == "2" and meta.get("pdfaid:conformance") == "B"
        width, height = [float(v) for v in pdf_doc.pages[0].mediabox[2:]]
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2          # A4
        assert str(pdf_doc.Root.Lang) == "zh-CN"                           # read as Chinese

    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" in r[-5:-2] for r in rows), fonts          # every font embedded
    names = [r[0].split("+")[-1] for r in rows]
    assert not [n for n in names if re.search(r"cjkjp|wenquanyi|zenhei", n, re.I)], fonts   # no JP forms, no fallback
    assert [n for n in names if n.lower().startswith("notoserifcjksc")], fonts              # serif, Simplified Chinese

    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "鞍审批罚决字〔2026〕1号" in flat and data["party"]["name"] in flat
    assert "鞍山市人民政府申请行政复议" in flat and doc["verification_code"] in flat
    assert "—1—" in flat                                                  # page number
    assert "zhifa.example.gov.cn/verify" in flat and "127.0.0.1" not in flat   # the public address only (printed without its scheme)

    status, _, raw = call(base, "GET", f"/v1/verify?number={urllib.parse.quote(doc['number'])}"
                          f"&code={doc['verification_code']}", token=None)
    answer = json.loads(raw)
    assert answer["authentic"] is True and answer["sha256"] == doc["files"]["pdf"]["sha256"]


def test_batch_with_pdfs_through_the_worker(service):
    base, _ = service
    data = copy.deepcopy(CATALOGUE.get("rectification_order").example)
    status, _, raw = call(base, "POST", "/v1/batches",
                          {"documents": [{"type": "rectification_order", "data": data}] * 3})
    assert status == 202, raw.decode()
    status_url = json.loads(raw)["status_url"]
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        batch = json.loads(call(base, "GET", status_url.replace(base, ""))[2])
        if batch["status"] in ("done", "partial", "failed"):
            break
        time.sleep(0.5)
    assert batch["status"] == "done" and batch["done"] == 3, batch
    assert sorted(d["number"] for d in batch["documents"]) == [f"鞍审批责改字〔2026〕{i}号" for i in (1, 2, 3)]
    doc_id = batch["documents"][0]["id"]
    status, _, pdf = call(base, "GET", f"/v1/documents/{doc_id}/pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
