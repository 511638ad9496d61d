"""The search service stores no blob of its own (it keeps redacted rows and its index): on a
deployment with ZHIFA_S3_* set, it publishes by document from a generator whose files are on
S3-compatible storage (moto's server as a real process, tests/shared/s3.py) exactly as before."""
from __future__ import annotations

import httpx

from tests.conftest import TOKENS, auth, free_port
from tests.search.conftest import LiveServer
from tests.search.test_generator_link import issue
from tests.shared.s3 import s3_bucket, s3_env, s3_server  # noqa: F401  (fixtures)


def test_a_decision_is_published_by_document_from_a_generator_on_s3(zhifa_env, tmp_path, s3_env, s3_server):
    from services.generator.app import create_app as create_generator
    from services.search.app import create_app as create_search
    search_port = free_port()
    search_url = f"http://127.0.0.1:{search_port}"
    generator = LiveServer(create_generator(zhifa_env(
        ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}", ZHIFA_SEARCH_URL=search_url,
        ZHIFA_PUBLIC_VERIFY_URL=f"{search_url}/verify", **s3_env)))
    search = LiveServer(create_search(zhifa_env(
        ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}", ZHIFA_GENERATOR_URL=generator.url,
        ZHIFA_GENERATOR_TOKEN=TOKENS["publisher"], ZHIFA_SEARCH_URL=search_url, **s3_env)), search_port)
    try:
        doc = issue(generator.url, "penalty_decision")
        assert s3_server.keys(s3_env["ZHIFA_S3_BUCKET"], "zhifa/generator/")     # its DOCX is in the bucket
        resp = httpx.post(f"{search.url}/v1/decisions", json={"document_id": doc["id"]}, headers=auth("publisher"))
        assert resp.status_code == 201, resp.text
        decision = httpx.get(f"{search.url}/v1/decisions/{doc['number']}").json()
        assert decision["party"] == "鞍山示例商贸有限公司" and "住所变更登记" in decision["text"]
        assert s3_server.keys(s3_env["ZHIFA_S3_BUCKET"], "zhifa/search/") == []  # and the search service none
    finally:
        search.stop()
        generator.stop()
