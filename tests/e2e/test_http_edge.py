"""The HTTP edge as an attacker and a browser meet it: a real waitress server
(shared.web.serve, through the CLI's serve_app) in its own process, spoken
to over raw sockets where a polite client would hide the attack.

The served app is a tiny one built with shared.web.create_base_app (this
module run as a script), so these tests do not depend on any one service;
one test serves the real generator to prove SIGTERM closes its runtime.
"""
from __future__ import annotations

import hashlib
import json
import os
import select
import tempfile
import threading
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
    from shared.web import body_limit, create_base_app, external_url, json_body, requires

    def broken_database():
        raise RuntimeError("connection to postgresql://zhifa:s3cret@db failed: SELECT secret_column FROM t")

    settings = config.load()
    app = create_base_app("generator", settings, {}, {"database": broken_database},
                          max_body_bytes=settings.max_upload_bytes)

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

    @app.get("/relay")
    def relay():    # calls another served tiny app, as the archive calls the generator
        from shared.http import ServiceClient
        with ServiceClient("generator", os.environ["EDGE_UPSTREAM"]) as upstream:
            answer = upstream.get_json("/slow", params={"seconds": "0"})
        app.logger.info("relayed")
        return jsonify(answer)

    @app.post("/upload")
    @requires("archivist")
    def upload():   # an archive-like upload: the body streamed to a file, its size and digest answered
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile() as fh:
            while chunk := request.stream.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        return jsonify(bytes=size, sha256=digest.hexdigest()), 201
    body_limit(app, "upload", settings.max_upload_bytes)

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
               ZHIFA_GENERATOR_URL=PUBLIC_URL, ZHIFA_FONTS_DIR=os.environ.get("ZHIFA_FONTS_DIR", ""))
    env.update({k: str(v) for k, v in env_extra.items()})
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
        directory = tmp_path / f"server-{len(servers)}"
        directory.mkdir()
        server = _start(directory, [sys.executable, "-m", "tests.e2e.test_http_edge"], env, free_port())
        servers.append(server)
        return server
    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)


def connect_from(port: int, source: str) -> socket.socket:
    """A connection to the server from another loopback address (Linux routes all of
    127/8 to lo): an attacker's address, distinct from the test's own 127.0.0.1."""
    return socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))


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
    server = serve_tiny(ZHIFA_HTTP_CONNECTIONS_PER_CLIENT=0)
    idle = [connect_from(server.port, "127.0.0.2") for _ in range(150)]
    try:
        started = time.monotonic()
        status, _, body = get_json(server.base + "/healthz", timeout=5)
        assert status == 200 and body["status"] == "ok"
        assert time.monotonic() - started < 2
    finally:
        for s in idle:
            s.close()


def test_sockets_past_the_connection_limit_are_dropped_after_the_channel_timeout(serve_tiny):
    server = serve_tiny(ZHIFA_HTTP_CONNECTION_LIMIT=20, ZHIFA_HTTP_CHANNEL_TIMEOUT=2, ZHIFA_HTTP_CONNECTIONS_PER_CLIENT=0)
    idle = [connect_from(server.port, "127.0.0.2") for _ in range(40)]
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
    lines = [json.loads(line) for line in server.log().splitlines()]     # one JSON object a line
    assert {"request_id": "case-7f3a", "message": "slow request done", "level": "INFO"}.items() <= \
        next(e for e in lines if e["message"] == "slow request done").items()
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
                    {"ZHIFA_API_KEYS": "edge-token-0123456789abcdefghijklmnop=case-system", "ZHIFA_SOFFICE_POOL_SIZE": 1}, port)
    try:
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 12
        assert "serving generator on http://127.0.0.1:" in server.log()
        assert json.loads(server.log().splitlines()[-1])["message"] == "stopped"
    finally:
        if server.proc.poll() is None:
            server.proc.kill()


# --- bodies refused from the request's head ------------------------------------------

def stream_post(port: int, path: bytes, length: int, headers: bytes = b"", source: str = "127.0.0.1",
                timeout: float = 60.0, stop_at: int | None = None) -> dict:
    """POST a body of `length` bytes made on the fly from one reused megabyte (never held
    whole), reading the answer as soon as it comes, as a client watching its socket would.
    `stop_at`: stop sending there and hold the connection (the caller sends the rest).
    Returns status, body, bytes sent when the first byte of the answer arrived, seconds."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    block = memoryview(b"x" * (1 << 20))
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: %d\r\n%s\r\n" % (path, length, headers))
    sock.setblocking(False)
    sent, data, started, sent_at_answer = 0, b"", time.monotonic(), None
    goal = length if stop_at is None else stop_at
    while time.monotonic() - started < timeout:
        readable, writable, _ = select.select([sock], [sock] if sent < goal else [], [], 0.5)
        if readable:
            try:
                got = sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except ConnectionResetError:
                got = b""
            if sent_at_answer is None:
                sent_at_answer = sent
            data += got
            if not got or (b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) >= _length(data)):
                break
        elif writable:
            try:
                sent += sock.send(block[:min(len(block), goal - sent)])
            except (BlockingIOError, InterruptedError):
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
        elif stop_at is not None and sent >= goal:
            return {"socket": sock, "sent": sent}
    sock.close()
    status, answer_headers, body = _parse(data) if data else (None, {}, b"")
    return {"status": status, "headers": answer_headers, "body": body, "sent_at_answer": sent_at_answer,
            "seconds": time.monotonic() - started}


def temp_bytes(pid: int, directory: Path) -> int:
    """Bytes of the files under `directory` that process `pid` holds open (waitress's
    spooled bodies are unlinked at once, so only /proc shows them)."""
    total = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.readlink(fd).startswith(str(directory)):
                total += os.stat(fd).st_size
        except OSError:
            pass
    return total


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Watch(threading.Thread):
    """Samples a server's temp-file bytes and RSS every 20 ms until stopped: the peaks."""

    def __init__(self, server: Server):
        super().__init__(daemon=True)
        self.server, self.stopped = server, threading.Event()
        self.temp_peak, self.rss_peak = 0, rss_bytes(server.proc.pid)

    def run(self):
        while not self.stopped.wait(0.02):
            self.temp_peak = max(self.temp_peak, temp_bytes(self.server.proc.pid, self.server.tmp_dir))
            self.rss_peak = max(self.rss_peak, rss_bytes(self.server.proc.pid))

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *_):
        self.stopped.set()
        self.join()


KEYS = "archivist-token-0123456789abcdefghijklm=archivist,case-token-0123456789abcdefghijklmnopq=case-system"
ARCHIVIST = b"Authorization: Bearer archivist-token-0123456789abcdefghijklm\r\n"


def test_three_unauthenticated_600_mb_posts_are_refused_at_once_without_spooling(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS, ZHIFA_MAX_UPLOAD_BYTES=2 * 1024 ** 3)
    rss_before = rss_bytes(server.proc.pid)
    results = [None] * 3

    def attack(i):
        results[i] = stream_post(server.port, b"/upload", 600 * 1024 ** 2, source=f"127.0.0.{2 + i}")
    with Watch(server) as watch:
        threads = [threading.Thread(target=attack, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for result in results:
        assert result["status"] == 401, result
        assert json.loads(result["body"])["title"] == "未认证"
        assert result["headers"]["www-authenticate"].startswith("Bearer")
        assert result["seconds"] < 5
        assert result["sent_at_answer"] < 100 * 1024 ** 2      # answered while the client was still sending
    assert watch.temp_peak < 1024 ** 2, watch.temp_peak     # nothing spooled (the old edge held 1.7 GB)
    assert watch.rss_peak - rss_before < 50 * 1024 ** 2, (rss_before, watch.rss_peak)


def test_a_300_mb_unauthenticated_post_is_answered_401_before_its_body_is_sent(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS)
    result = stream_post(server.port, b"/upload", 300 * 1024 ** 2)
    assert result["status"] == 401
    assert result["sent_at_answer"] < 300 * 1024 ** 2 // 10
    # the wrong role is refused the same way, and so is a body sent to no route at all
    wrong_role = stream_post(server.port, b"/upload", 300 * 1024 ** 2,
                             headers=b"Authorization: Bearer case-token-0123456789abcdefghijklmnopq\r\n")
    assert wrong_role["status"] == 403 and "archivist" in json.loads(wrong_role["body"])["detail"]
    assert wrong_role["sent_at_answer"] < 300 * 1024 ** 2 // 10
    nowhere = stream_post(server.port, b"/nowhere", 300 * 1024 ** 2, headers=ARCHIVIST)
    assert nowhere["status"] == 404 and nowhere["sent_at_answer"] < 300 * 1024 ** 2 // 10


def test_an_unauthenticated_chunked_body_is_refused_from_its_head(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS)
    status, headers, body = raw_request(server.port, b"POST /upload HTTP/1.1\r\nHost: x\r\n"
                                        b"Transfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n" * 1000)
    assert status == 401 and headers["content-type"].startswith("application/problem+json")


def test_an_authorised_upload_arrives_whole_and_a_declared_size_past_the_route_limit_is_413(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS, ZHIFA_MAX_UPLOAD_BYTES=64 * 1024 ** 2)
    result = stream_post(server.port, b"/upload", 40 * 1024 ** 2, headers=ARCHIVIST)
    assert result["status"] == 201, result
    assert json.loads(result["body"]) == {"bytes": 40 * 1024 ** 2,
                                          "sha256": hashlib.sha256(b"x" * 40 * 1024 ** 2).hexdigest()}
    too_big = stream_post(server.port, b"/upload", 65 * 1024 ** 2, headers=ARCHIVIST)
    assert too_big["status"] == 413 and too_big["sent_at_answer"] < 10 * 1024 ** 2
    assert json.loads(too_big["body"])["errors"][0]["path"] == "body"


def test_a_clients_share_of_buffered_bodies_is_bounded(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS, ZHIFA_HTTP_BODY_BYTES_PER_CLIENT=30 * 1024 ** 2)
    first = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST, source="127.0.0.2",
                        stop_at=1024 ** 2)          # under way: 20 MB reserved for 127.0.0.2
    try:
        second = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST, source="127.0.0.2")
        assert second["status"] == 429 and int(second["headers"]["retry-after"]) > 0
        assert second["sent_at_answer"] < 10 * 1024 ** 2
        other = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST, source="127.0.0.3")
        assert other["status"] == 201                # another client is not held back
        first["socket"].setblocking(True)
        first["socket"].sendall(b"x" * (19 * 1024 ** 2))
        data = b""
        while not (b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) >= _length(data)):
            data += first["socket"].recv(65536)
        assert _parse(data)[0] == 201
    finally:
        first["socket"].close()
    again = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST, source="127.0.0.2")
    assert again["status"] == 201                    # its share came back when the first was done


def test_with_no_per_client_bound_two_uploads_from_one_address_both_pass(serve_tiny):
    """Behind a proxy every client has its address: ZHIFA_HTTP_BODY_BYTES_PER_CLIENT=0."""
    server = serve_tiny(ZHIFA_API_KEYS=KEYS, ZHIFA_MAX_UPLOAD_BYTES=30 * 1024 ** 2,
                        ZHIFA_HTTP_BODY_BYTES_PER_CLIENT=0)
    first = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST, stop_at=1024 ** 2)
    try:
        second = stream_post(server.port, b"/upload", 20 * 1024 ** 2, headers=ARCHIVIST)
        assert second["status"] == 201
    finally:
        first["socket"].close()


def test_a_chunked_body_growing_past_its_routes_limit_is_cut_off_with_413(serve_tiny):
    server = serve_tiny(ZHIFA_API_KEYS=KEYS, ZHIFA_MAX_UPLOAD_BYTES=1024 ** 2, ZHIFA_MAX_BODY_BYTES=1024 ** 2)
    chunk = b"%x\r\n%s\r\n" % (64 * 1024, b"y" * 64 * 1024)
    status, _, body = raw_request(server.port, b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  + ARCHIVIST + b"\r\n", chunk * 40, timeout=10)
    assert status == 413 and json.loads(body)["errors"][0]["path"] == "body"
    status, _, body = raw_request(server.port, b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                  + ARCHIVIST + b"\r\n", chunk * 4 + b"0\r\n\r\n", timeout=10)
    assert status == 201 and json.loads(body)["bytes"] == 4 * 64 * 1024


# --- slow clients ------------------------------------------------------------------------

class Dribblers(threading.Thread):
    """`count` connections from `source`, each sending one more header line every `every`
    seconds and never ending its head (the slowloris attack); counts how many the server closed."""

    def __init__(self, port: int, count: int, every: float, source: str):
        super().__init__(daemon=True)
        self.socks, self.closed, self.stopped = [], 0, threading.Event()
        for _ in range(count):
            try:
                sock = connect_from(port, source)
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
                self.socks.append(sock)
            except OSError:
                self.closed += 1
        self.every = every

    def run(self):
        n = 0
        while not self.stopped.wait(self.every):
            n += 1
            for sock in list(self.socks):
                try:
                    sock.sendall(b"X-Line-%d: %s\r\n" % (n, b"a" * 10))
                except OSError:
                    self.socks.remove(sock)
                    self.closed += 1
                    sock.close()

    def stop(self):
        self.stopped.set()
        self.join()
        for sock in self.socks:
            sock.close()


def healthz_seconds(server: Server) -> float:
    started = time.monotonic()
    status, _, body = get_json(server.base + "/healthz", timeout=30)
    assert status == 200 and body["status"] == "ok"
    return time.monotonic() - started


def test_230_dribbling_connections_do_not_keep_healthz_from_answering(serve_tiny):
    server = serve_tiny(ZHIFA_HTTP_HEADER_TIMEOUT=2, ZHIFA_HTTP_CONNECTIONS_PER_CLIENT=20)
    attack = Dribblers(server.port, 230, every=1.0, source="127.0.0.2")
    attack.start()
    try:
        waits = []
        for _ in range(8):                          # over 4 s: through the header timeout and past it
            waits.append(healthz_seconds(server))
            time.sleep(0.5)
        assert max(waits) < 2.0, waits               # on a loaded machine; main gave no answer in 20 s
        deadline = time.monotonic() + 10
        while attack.socks and time.monotonic() < deadline:   # the 20 admitted ones are cut off too
            time.sleep(0.2)
        assert not attack.socks and attack.closed == 230
    finally:
        attack.stop()


def test_a_head_that_never_ends_is_cut_off_whatever_it_sends(serve_tiny):
    """No per-client bound (a proxy in front): the header timeout alone frees the connections."""
    server = serve_tiny(ZHIFA_HTTP_HEADER_TIMEOUT=2, ZHIFA_HTTP_CONNECTIONS_PER_CLIENT=0,
                        ZHIFA_HTTP_CONNECTION_LIMIT=50)
    attack = Dribblers(server.port, 60, every=0.5, source="127.0.0.2")
    attack.start()
    try:
        assert healthz_seconds(server) < 6            # waits at most for the header timeout, not forever
        status, _, body = raw_request(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == 200                          # an ordinary request is untouched
    finally:
        attack.stop()


# --- the service's own address ---------------------------------------------------------

def test_without_a_configured_url_links_use_the_bound_address(serve_tiny):
    server = serve_tiny(ZHIFA_GENERATOR_URL="")
    status, _, body = get_json(server.base + "/items/a")
    assert status == 200 and body["url"] == f"http://127.0.0.1:{server.port}/items/a"


def test_a_served_generator_without_its_url_answers_with_links_to_its_own_port(tmp_path):
    port = free_port()
    token = "edge-token-0123456789abcdefghijklmnop"
    server = _start(tmp_path, [sys.executable, "-m", "services.cli", "serve", "generator", "--port"],
                    {"ZHIFA_API_KEYS": f"{token}=case-system", "ZHIFA_SOFFICE_POOL_SIZE": 1,
                     "ZHIFA_GENERATOR_URL": ""}, port)
    try:
        _, _, template = get_json(server.base + "/v1/templates/penalty_decision")
        req = urllib.request.Request(
            server.base + "/v1/documents", method="POST",
            data=json.dumps({"type": "penalty_decision", "data": template["example"], "formats": ["docx"]}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            doc = json.loads(resp.read())
            location = resp.headers["Location"]
        own = f"http://127.0.0.1:{port}/"
        assert location.startswith(own) and doc["files"]["docx"]["url"].startswith(own)
        assert ":8001" not in json.dumps(doc)
    finally:
        server.proc.kill()
        server.proc.wait(timeout=10)


# --- the archive's edge (served in this process) -------------------------------------------

@pytest.fixture
def served_archive(zhifa_env, tmp_path):
    """The archive app under shared.web.serve on a loopback port, from a thread."""
    from services.archive.app import create_app
    from shared.web import serve
    app = create_app(zhifa_env(ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_GENERATOR_TOKEN="unused", ZHIFA_LOGIN_RATE_LIMIT="3 per minute",
                               ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    port, stop, ready = free_port(), threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", port),
                              kwargs={"signals": False, "stop": stop, "ready": lambda *_: ready.set()}, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield f"http://127.0.0.1:{port}", port
    stop.set()
    thread.join(30)
    app.extensions["zhifa.runtime"].close()


def test_the_archive_refuses_unauthenticated_uploads_from_their_head(served_archive):
    _, port = served_archive
    multipart = b"Content-Type: multipart/form-data; boundary=b\r\n"
    api = stream_post(port, b"/v1/case-files/any/items", 600 * 1024 ** 2, headers=multipart)
    assert api["status"] == 401 and api["sent_at_answer"] < 30 * 1024 ** 2
    page = stream_post(port, b"/case-files/any/uploads?csrf=x", 600 * 1024 ** 2,
                       headers=multipart + b"Cookie: zhifa_archive=forged.value.sig\r\n")
    assert page["status"] == 401 and page["sent_at_answer"] < 30 * 1024 ** 2
    from tests.conftest import TOKENS
    too_big = stream_post(port, b"/v1/case-files/any/items", 3 * 1024 ** 3,
                          headers=multipart + b"Authorization: Bearer %s\r\n" % TOKENS["archivist"].encode())
    assert too_big["status"] == 413 and too_big["sent_at_answer"] < 30 * 1024 ** 2


def test_sign_in_attempts_are_limited_per_client(served_archive):
    base, _ = served_archive
    statuses = []
    for _ in range(4):
        req = urllib.request.Request(base + "/login", method="POST", data=b"csrf=x&token=guess",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                statuses.append((resp.status, None))
        except urllib.error.HTTPError as err:
            statuses.append((err.code, err.headers.get("Retry-After")))
    assert [s for s, _ in statuses[:3]] == [400, 400, 400]     # no session: refused, and counted
    assert statuses[3][0] == 429 and 0 < int(statuses[3][1]) <= 60
    with urllib.request.urlopen(base + "/login", timeout=10) as resp:   # the page itself still shows
        assert resp.status == 200


def test_metrics_are_for_the_admin_role(served_archive):
    from tests.conftest import TOKENS
    base, port = served_archive
    assert get_json(base + "/healthz")[0] == 200
    assert stream_post(port, b"/v1/case-files/any/items", 10 * 1024 ** 2)["status"] == 401
    try:
        urllib.request.urlopen(base + "/metrics", timeout=10)
        raise AssertionError("metrics served without a token")
    except urllib.error.HTTPError as err:
        assert err.code == 401
    req = urllib.request.Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKENS['admin']}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    assert 'zhifa_http_requests_total{endpoint="/healthz",service="archive",status="200"}' in text
    assert 'zhifa_http_edge_refusals_total{reason="http-401",service="archive"} 1.0' in text   # refused at the edge


def test_a_signed_in_archivists_page_upload_passes_the_edge(served_archive):
    import re

    import httpx

    from tests.conftest import TOKENS
    base, _ = served_archive
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)[1]
        assert client.post("/login", data={"csrf": csrf, "token": TOKENS["archivist"]}).status_code == 302
        page = client.get("/case-files").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]
        resp = client.post(f"/case-files/none/uploads?csrf={csrf}", files={"file": ("a.pdf", b"%PDF-1.7\n")})
    assert resp.status_code == 302          # reached the page (which flashes that there is no such file)


# --- readiness of each service's parts ------------------------------------------------------

def test_generator_readiness_names_libreoffice_and_redis_when_they_are_down(zhifa_env):
    from services.generator.app import create_app
    app = create_app(zhifa_env(ZHIFA_UNO_PYTHON="/nonexistent/python3", ZHIFA_REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 503
        assert resp.get_json()["checks"] == {"database": "ok", "redis": "failed", "blobs": "ok", "libreoffice": "failed"}
    finally:
        app.extensions["zhifa.runtime"].close()
    app = create_app(zhifa_env(ZHIFA_UNO_PYTHON="", ZHIFA_REDIS_URL=""))
    try:
        resp = app.test_client().get("/readyz")
        assert resp.status_code == 200 and resp.get_json()["checks"] == {"database": "ok", "blobs": "ok", "libreoffice": "ok"}
    finally:
        app.extensions["zhifa.runtime"].close()



def test_one_request_id_follows_a_request_into_the_service_it_calls(serve_tiny):
    upstream = serve_tiny()
    front = serve_tiny(EDGE_UPSTREAM=upstream.base)
    status, headers, body = get_json(front.base + "/relay", headers={"X-Request-ID": "case-relay-1"})
    assert status == 200 and body == {"done": True} and headers["X-Request-ID"] == "case-relay-1"
    for server, message in ((front, "relayed"), (upstream, "slow request done")):
        entries = [json.loads(line) for line in server.log().splitlines()]
        assert any(e["message"] == message and e["request_id"] == "case-relay-1" for e in entries), entries
