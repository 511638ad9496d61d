"""shared.http against a real local HTTP server that misbehaves on request."""
from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared import logs
from shared.http import ServiceClient, UpstreamRefused
from shared.problems import Problem


class Upstream(BaseHTTPRequestHandler):
    calls: dict[str, int] = {}
    seen_headers: dict[str, dict] = {}

    def log_message(self, *_):
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._handle()

    def _handle(self):
        key = f"{self.command} {self.path}"
        Upstream.calls[key] = Upstream.calls.get(key, 0) + 1
        Upstream.seen_headers[key] = dict(self.headers)
        if self.path.startswith("/v1/ok"):
            self._answer(200, json.dumps({"号": "鞍审批罚决字〔2026〕第1号"}, ensure_ascii=False).encode())
        elif self.path == "/v1/missing":
            self._answer(404, json.dumps({"title": "未找到", "status": 404}, ensure_ascii=False).encode(),
                         "application/problem+json")
        elif self.path == "/v1/crash":
            self._answer(500, b"Internal Server Error", "text/plain")
        elif self.path == "/v1/busy":
            self._answer(503, b"{}")
        elif self.path == "/v1/html":
            self._answer(200, b"<html>login</html>", "text/html")
        elif self.path == "/v1/drop":          # reads the request, then hangs up without answering
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path == "/v1/slow":
            time.sleep(2)
            self._answer(200, b"{}")
        elif self.path == "/v1/file":
            self._answer(200, b"%PDF-1.7" + b"x" * 300_000, "application/pdf")


@pytest.fixture
def upstream():
    Upstream.calls, Upstream.seen_headers = {}, {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with ServiceClient("generator", f"http://127.0.0.1:{server.server_port}", "secret-token",
                       read_timeout=1.0) as client:
        yield client
    server.shutdown()
    server.server_close()


def test_json_comes_back_with_the_token_and_the_callers_request_id(upstream):
    token = logs.request_id.set("req-42")
    try:
        assert upstream.get_json("/v1/ok") == {"号": "鞍审批罚决字〔2026〕第1号"}
    finally:
        logs.request_id.reset(token)
    headers = Upstream.seen_headers["GET /v1/ok"]
    assert headers["Authorization"] == "Bearer secret-token" and headers["X-Request-ID"] == "req-42"


def test_a_4xx_is_handed_to_the_caller_with_the_upstream_problem(upstream):
    with pytest.raises(UpstreamRefused) as err:
        upstream.get_json("/v1/missing")
    assert err.value.upstream_status == 404 and err.value.upstream_problem["title"] == "未找到"
    assert err.value.status == 502          # uncaught, it is our bad gateway


@pytest.mark.parametrize("path, status, title", [("/v1/crash", 502, "文书生成服务答复有误"),
                                                 ("/v1/html", 502, "文书生成服务答复有误"),
                                                 ("/v1/busy", 503, "文书生成服务暂不可用")])
def test_a_broken_answer_is_502_and_an_overloaded_upstream_503(upstream, path, status, title):
    with pytest.raises(Problem) as err:
        upstream.get_json(path)
    assert (err.value.status, err.value.title) == (status, title)


def test_an_unreachable_service_is_503_after_one_retry():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]          # nothing listens here once closed
    started = time.monotonic()
    with pytest.raises(Problem) as err:
        ServiceClient("generator", f"http://127.0.0.1:{port}").get_json("/v1/ok")
    assert err.value.status == 503 and err.value.title == "文书生成服务暂不可用"
    assert time.monotonic() - started < 3


def test_a_lost_answer_is_retried_for_get_but_a_post_is_never_sent_twice(upstream):
    with pytest.raises(Problem) as err:
        upstream.get_json("/v1/drop")
    assert err.value.status == 503 and Upstream.calls["GET /v1/drop"] == 2
    with pytest.raises(Problem):
        upstream.post_json("/v1/drop", {"type": "penalty_decision"})
    assert Upstream.calls["POST /v1/drop"] == 1


def test_a_slow_answer_times_out_as_504_once_without_a_second_wait(upstream):
    for method in ("POST", "GET"):
        with pytest.raises(Problem) as err:
            upstream.request(method, "/v1/slow")
        assert err.value.status == 504 and err.value.title == "文书生成服务未及时答复"
        assert Upstream.calls[f"{method} /v1/slow"] == 1            # a GET is not sent again: one wait, not two


def test_a_file_is_downloaded_to_disk_with_its_hash(upstream, tmp_path):
    path, sha256, size = upstream.download("/v1/file", tmp_path, max_bytes=1_000_000)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and size == len(data) and sha256 == hashlib.sha256(data).hexdigest()
    with pytest.raises(Problem) as err:
        upstream.download("/v1/file", tmp_path / "small", max_bytes=1000)
    assert err.value.status == 502 and not list((tmp_path / "small").iterdir())
