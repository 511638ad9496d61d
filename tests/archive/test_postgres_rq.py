"""Production parts: PostgreSQL for metadata, and sealing as an RQ job on
Redis done by a separate `zhifa worker archive` process."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.archive import samples
from tests.archive.conftest import ROOT, archive_env, open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")


@pytest.mark.postgres
@pytest.mark.redis
def test_seal_on_postgresql_by_an_rq_worker(zhifa_env, generator, seal_p12, pg_url, redis_url, tmp_path):
    from redis import Redis
    from rq import Worker

    from services.archive.app import create_app
    settings = archive_env(zhifa_env, generator, seal_p12, ZHIFA_ARCHIVE_DATABASE_URL=pg_url, ZHIFA_REDIS_URL=redis_url)
    app = create_app(settings)
    client = app.test_client()
    env = {k: v for k, v in os.environ.items()}
    log = open(tmp_path / "worker.log", "w")
    worker = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", "archive"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while Worker.count(connection=Redis.from_url(redis_url)) < 1:
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.3)
        case = open_case(client, case_type="penalty", archive_number="A012-2026-30-0201", decision_number="鞍审批罚决字〔2026〕第2号")
        assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "询问笔录扫描件", "kind": "evidence",
                                                                            "date": "2026-02-02"}).status_code == 201
        resp = client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：必备文书另行归档"},
                           headers=ARCHIVIST)
        assert resp.status_code == 202
        body = wait_sealed(client, case["id"], 90)
        assert body["status"] == "sealed", (tmp_path / "worker.log").read_text()
        ledger = client.get("/v1/ledger", headers=ARCHIVIST).get_json()
        assert ledger["intact"] and [e["sha256"] for e in ledger["entries"]] == [body["seal"]["sha256"]]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        app.extensions["zhifa.runtime"].close()
