"""ZHIFA_SEARCH_ROLE=public: the internet-facing process serves citizens only, and finds
what a publishing process on the same database and data directory published."""
from __future__ import annotations

import time

import pytest

from shared import config
from tests.conftest import auth
from tests.search.conftest import PENALTY, publish


@pytest.fixture
def two_processes(zhifa_env, tmp_path):
    """A publishing app (role all) and a public one on one database and data directory."""
    from services.search.app import create_app
    database = f"sqlite:///{tmp_path / 's.sqlite3'}"
    publishing = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=database))
    public = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=database, ZHIFA_SEARCH_ROLE="public"))
    yield publishing.test_client(), public.test_client()
    for app in (publishing, public):
        app.extensions["zhifa.runtime"].close()


def test_the_public_process_finds_what_the_publishing_process_published(two_processes):
    publishing, public = two_processes
    assert publish(publishing, PENALTY).status_code == 201
    deadline = time.monotonic() + 5
    while (found := public.get("/v1/search", query_string={"q": "住所变更"}).get_json())["total"] == 0:
        assert time.monotonic() < deadline, "the public process never saw the publication"
        time.sleep(0.1)
    assert found["hits"][0]["number"] == PENALTY["number"]
    assert public.get(f"/v1/decisions/{PENALTY['number']}").status_code == 200
    page = public.get("/", query_string={"q": "住所变更"})
    assert page.status_code == 200 and PENALTY["number"] in page.get_data(as_text=True)


@pytest.mark.parametrize("method, path, role", [
    ("POST", "/v1/decisions", "publisher"),
    ("POST", "/v1/decisions/preview", "publisher"),
    ("DELETE", "/v1/decisions/鞍审批罚决字〔2026〕第1号", "publisher"),
    ("GET", "/v1/pending", "publisher"),
    ("POST", "/v1/pending", "case-system"),
    ("GET", "/v1/audit", "admin"),
    ("GET", "/publisher/", None),
    ("GET", "/publisher/login", None),
])
def test_the_public_process_has_no_publishing_endpoints(two_processes, method, path, role):
    """Even a valid publisher's token finds nothing to write on the public process."""
    _, public = two_processes
    headers = {**(auth(role) if role else {}), "Content-Type": "application/json"}
    resp = public.open(path, method=method, data=b"{}", headers=headers)
    assert resp.status_code == 404, (path, resp.status_code, resp.get_data(as_text=True)[:200])


def test_the_public_process_keeps_citizens_and_operations_endpoints(two_processes):
    _, public = two_processes
    for path in ("/v1/search", "/v1/stats", "/v1/export", "/", "/stats", "/healthz", "/openapi.json"):
        assert public.get(path).status_code == 200, path
    assert public.get("/metrics", headers=auth("admin")).status_code == 200


def test_an_unknown_role_stops_the_start(zhifa_env):
    with pytest.raises(ValueError, match="ZHIFA_SEARCH_ROLE"):
        zhifa_env(ZHIFA_SEARCH_ROLE="publik")
    assert zhifa_env(ZHIFA_SEARCH_ROLE="public").search_role == "public"
    assert config.load().search_role == "public"
