"""Path traversal in every path parameter of the three served services
(`zhifa serve …` processes, the request line sent as raw bytes so that no
client normalises it): `..`, absolute paths, encoded and double-encoded
slashes and dots, backslashes, NUL, full-width and one-dot-leader "dots",
in the identifiers of the API and in the static files' names. Every answer is
a problem (4xx, problem+json; the search pages' own Chinese error page) and none carries a byte of the file it named;
the static files themselves are still served.
"""
from __future__ import annotations

import json
import re

import pytest

from tests.conftest import TOKENS, free_port
from tests.e2e.test_hostile_uploads import Served, parse

PAYLOADS = [
    "../../../../../../etc/passwd", "..%2f..%2f..%2f..%2f..%2fetc%2fpasswd", "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/etc/passwd", "%2fetc%2fpasswd",
    "..\\..\\..\\etc\\passwd", "..%5c..%5c..%5cetc%5cpasswd", "passwd%00.css", "%00", "x%00/../../etc/passwd",
    "．．／．．／．．／etc／passwd", "%EF%BC%8E%EF%BC%8E%EF%BC%8F%EF%BC%8E%EF%BC%8E%EF%BC%8Fetc%EF%BC%8Fpasswd",
    "\u2024\u2024/\u2024\u2024/\u2024\u2024/etc/passwd", "..;/..;/..;/etc/passwd", "....//....//....//etc/passwd",
    "../../../../../../proc/self/environ", "..%c0%af..%c0%afetc%c0%afpasswd", "a" * 8000,
]

# Each service's routes with a path parameter ({} is where the payload goes), and one file its static routes do serve.
ROUTES = {
    "generator": (["/v1/templates/{}", "/v1/documents/{}", "/v1/documents/{}/docx", "/v1/documents/{}/pdf",
                   "/v1/batches/{}", "/static/{}"], None),
    "archive": (["/v1/case-files/{}", "/v1/case-files/{}/checks", "/v1/case-files/x/items/{}/original",
                 "/v1/case-files/{}/pdf", "/static/archive/{}", "/static/{}"], "/static/archive/archive.css"),
    "search": (["/v1/decisions/{}", "/decisions/{}", "/assets/{}", "/static/{}"], "/assets/site.css"),
}
SECRETS = [b"root:x:0:", b"ZHIFA_API_KEYS", b"test-admin-token", b"PATH="]


@pytest.fixture(scope="module", params=sorted(ROUTES))
def served(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"paths-{request.param}")
    server = Served(request.param, tmp, ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}")
    yield server
    server.stop()


def test_no_path_parameter_reaches_outside_and_each_answer_is_a_problem(served):
    routes, asset = ROUTES[served.service]
    if asset:
        status, headers, body = served.request("GET", asset)
        assert status == 200 and headers["content-type"].startswith("text/css") and body, status
    admin = {"Authorization": f"Bearer {TOKENS['admin']}"}
    for route in routes:
        for payload in PAYLOADS:
            target = route.format(payload)
            head = f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in admin.items())
            status, headers, body = parse(served.raw(head.encode("utf-8") + b"\r\n", timeout=30))
            where = (served.service, target[:120], status, body[:200])
            assert 400 <= status < 500, where
            if route.startswith("/v1/") or route.startswith("/static/"):
                assert headers.get("content-type", "").startswith("application/problem+json"), where
                problem = json.loads(body)
                assert problem["status"] == status and re.search(r"[\u4e00-\u9fff]", problem["title"]), where
            else:       # a page for people: its own Chinese error page
                assert re.search("[\u4e00-\u9fff]", body.decode("utf-8")), where
            assert not any(secret in body for secret in SECRETS), where
    assert served.request("GET", "/healthz")[0] == 200


@pytest.mark.parametrize("service", sorted(ROUTES))
def test_doubled_slashes_are_not_redirected_to_the_clients_host(service, zhifa_env, tmp_path):
    """werkzeug merged "//" with a 308 whose Location was built on the Host header sent (found by the
    test above): now a 404 problem, and no answer names a host the client made up."""
    from importlib import import_module
    app = import_module(f"services.{service}.app").create_app(zhifa_env(
        **{f"ZHIFA_{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}))
    try:
        client = app.test_client()
        # (not "//x": the test client reads it as a host name)
        for path in ("/v1//verify", "/static//etc/passwd", "/v1/decisions//etc/passwd", "/healthz//"):
            resp = client.get(path, headers={"Host": "evil.example"})
            assert resp.status_code == 404 and resp.mimetype == "application/problem+json", (path, resp.status_code)
            assert "evil.example" not in resp.headers.get("Location", ""), path
    finally:
        app.extensions["zhifa.runtime"].close()
