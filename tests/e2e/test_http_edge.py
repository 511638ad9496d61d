"""The HTTP edge as an attacker and a browser meet it: a real waitress server
(shared.web.serve, through the CLI's serve_app) in its own process, spoken
to over raw sockets where a polite client would hide the attack.

The served app is a tiny one built with shared.web.create_base_app (this
module run as a script), so these tests do not depend on any one service;
one test serves the real generator to prove SIGTERM closes its runtime.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://zhifa.example.gov.cn/generator"



# --- the served app ------------------------------------------------------------

def tiny_app():
    from flask import jsonify, request

    from shared import config
    from shared.web import create_base_app, external_url, json_body

    def broken_database():
        raise RuntimeError("connection to postgresql://zhifa:s3cret@db failed: SELECT secret_column FROM t")

    app = create_base_app("generator", config.load(), {}, {"database": broken_database})

    class Runtime:   # stands in for a service's runtime: close() leaves a trace to check
        def close(self):
            Path(os.environ["EDGE_CLOSED_MARKER"]).write_text("closed")
    app.extensions["zhifa.runtime"] = Runtime()

    @app.post("/echo")
    def echo():
        return jsonify(keys=sorted(json_body()))

    @app.get("/query")
    def query():
        return jsonify(number=request.args.get("number"), code=request.args.get("code"))

    @app.get("/items/<item_id>")
    def item(item_id):
        return jsonify(url=external_url("item", item_id=item_id))

    @app.get("/slow")
    def slow():
        time.sleep(float(request.args.get("seconds", "1")))
        app.logger.info("slow request done")
        return jsonify(done=True)

    return app


def _serve_tiny_app(port: int) -> None:
    from services.cli import serve_app
    from shared import config, logs
    logs.setup(config.load().log_level)
    serve_app(tiny_app(), "127.0.0.1", port, threads=4)


if __name__ == "__main__":
    _serve_tiny_app(int(sys.argv[1]))


# --- fixtures ------------------------------------------------------------------

class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log_path: Path, tmp_dir: Path, marker: Path):
        self.proc, self.port, self.log_path, self.tmp_dir, self.marker = proc, port, log_path, tmp_dir, marker

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text()


def _start(tmp_path: Path, argv: list[str], env_extra: dict, port: int) -> Server:
    tmp_dir = tmp_path / "tmp"                 # where waitress would spool request bodies
    tmp_dir.mkdir()
    marker = tmp_path / "closed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")}
    env.update(TMPDIR=str(tmp_dir), EDGE_CLOSED_MARKER=str(marker), ZHIFA_DATA_DIR=str(tmp_path / "var"),
               ZHIFA_GENERATOR_URL=PUBLIC_URL, ZHIFA_FONTS_DIR=os.environ.get("ZHIFA_FONTS_DIR", ""),
               **{k: str(v) for k, v in env_extra.items()})
    log_path = tmp_path / "server.log"
    proc = subprocess.Popen(argv + [str(port)], cwd=ROOT, env=env,
                            stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    server = Server(proc, port, log_path, tmp_dir, marker)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(server.base + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(server.log())
        time.sleep(0.2)


@pytest.fixture
def serve_tiny(tmp_path):
    servers = []

    def start(**env) -> Server:
        server = _start(tmp_path, [sys.executable, "-m", "tests.e2e.test_http_edge"], env, free_port())
        servers.append(server)
        return server
    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)


def raw_request(port: int, head: bytes, body: bytes = b"", timeout: float = 5.0) -> tuple[int, dict, bytes]:
    """Send bytes exactly as given; return (status, headers, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return _parse(data)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 1 << 62


def _parse(data: bytes) -> tuple[int, dict, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def get_json(url: str, headers: dict | None = None, timeout: float = 5.0) -> tuple[int, Any, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())


# --- the attacks -----------------------------------------------------------------

def test_a_huge_body_is_refused_from_its_header_before_any_of_it_is_read(serve_tiny):
    server = serve_tiny(ZHIFA_MAX_BODY_BYTES=100_000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1073741824\r\n\r\n")
        started = time.monotonic()
        sent = 0
        try:   # keep sending, as the attacker would; the answer must not wait for the gigabyte
            sock.settimeout(0.05)
            while sent < 20_000_000:
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break
                except socket.timeout:
                    pass
                sent += sock.send(b"x" * 1_000_000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    status, headers, body = _parse(data)
    assert status == 413
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["title"] == "请求体过大"
    assert time.monotonic() - started < 5
    spooled = [p.stat().st_size for p in server.tmp_dir.rglob("*") if p.is_file()]
    assert all(size < 1_000_000 for size in spooled), spooled


def test_a_body_within_the_limit_is_still_served(serve_tiny):
    server = serve_tiny(ZHIFA_MAX_BODY_BYTES=100_000)
    body = json.dumps({"案由": "x" * 50_000}, ensure_ascii=False).encode()
    status, _, answer = raw_request(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    b"Content-Length: %d\r\n\r\n" % len(body), body)
    assert (status, json.loads(answer)) == (200, {"keys": ["案由"]})


def test_150_idle_sockets_do_not_keep_a_request_waiting(serve_tiny):
    server = serve_tiny()
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(150)]
    try:
        started = time.monotonic()
        status, _, body = get_json(server.base + "/healthz", timeout=5)
        assert status == 200 and body["status"] == "ok"
        assert time.monotonic() - started < 2
    finally:
        for s in idle:
            s.close()


def test_sockets_past_the_connection_limit_are_dropped_after_the_channel_timeout(serve_tiny):
    server = serve_tiny(ZHIFA_HTTP_CONNECTION_LIMIT=20, ZHIFA_HTTP_CHANNEL_TIMEOUT=2)
    idle = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(40)]
    try:
        started = time.monotonic()
        status, _, _ = get_json(server.base + "/healthz", timeout=15)
        assert status == 200
        assert time.monotonic() - started < 8    # a few seconds, not waitress's default 120 s
    finally:
        for s in idle:
            s.close()


def test_absolute_urls_come_from_configuration_not_from_the_host_header(serve_tiny):
    server = serve_tiny()
    status, _, body = raw_request(server.port, b"GET /items/a%20b HTTP/1.1\r\nHost: evil.example\r\n"
                                  b"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: http\r\n\r\n")
    assert status == 200
    assert json.loads(body)["url"] == PUBLIC_URL + "/items/a%20b"


def test_readiness_names_the_failed_part_without_its_secrets(serve_tiny):
    server = serve_tiny()
    status, _, body = get_json(server.base + "/readyz")
    assert status == 503
    assert body["checks"] == {"database": "failed"}
    assert "s3cret" not in json.dumps(body) and "SELECT" not in json.dumps(body)
    assert "SELECT secret_column" in server.log()      # the operator still learns why


def test_a_raw_utf8_query_is_read_as_utf8(serve_tiny):
    server = serve_tiny()
    number = "鞍审批罚决字〔2026〕第1号"
    status, headers, body = raw_request(
        server.port, b"GET /query?number=" + number.encode() + b"&code=AB12 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 200, body
    assert json.loads(body) == {"number": number, "code": "AB12"}


def test_a_malformed_request_gets_a_problem_not_plain_text(serve_tiny):
    server = serve_tiny()
    status, headers, body = raw_request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
    assert status == 400
    assert headers["content-type"].startswith("application/problem+json")
    assert json.loads(body)["title"] == "请求有误"


def test_the_request_id_is_echoed_and_logged(serve_tiny):
    server = serve_tiny()
    status, headers, _ = get_json(server.base + "/slow?seconds=0", headers={"X-Request-ID": "case-7f3a"})
    assert status == 200 and headers["X-Request-ID"] == "case-7f3a"
    assert "[case-7f3a]" in server.log() and "slow request done" in server.log()
    _, headers, _ = get_json(server.base + "/healthz", headers={"X-Request-ID": "bad id\u00e9" * 20})
    assert headers["X-Request-ID"] != "bad id\u00e9" * 20 and len(headers["X-Request-ID"]) == 32


def test_sigterm_finishes_the_request_under_way_closes_the_runtime_and_exits_0(serve_tiny):
    server = serve_tiny()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /slow?seconds=1.5 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
            if b"}" in data:
                break
    assert _parse(data)[0] == 200                  # the request under way was answered
    assert server.proc.wait(timeout=15) == 0
    assert time.monotonic() - started < 10
    assert server.marker.read_text() == "closed"
    with pytest.raises(OSError):                   # and nothing listens any more
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()


def test_sigterm_stops_a_served_generator_within_seconds(tmp_path):
    port = free_port()
    server = _start(tmp_path, [sys.executable, "-m", "services.cli", "serve", "generator", "--port"],
                    {"ZHIFA_API_KEYS": "edge-token=case-system", "ZHIFA_SOFFICE_POOL_SIZE": 1}, port)
    try:
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 12
        assert "serving generator on http://127.0.0.1:" in server.log()
        assert server.log().rstrip().endswith("stopped")
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
