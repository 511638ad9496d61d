"""The HTTP edge under attack, this tree against a baseline tree (e.g. main),
interleaved in one run: each round serves a tiny app (an archive-like upload
route behind a token, 2 GB limit) from one tree, then from the other, as real
processes on loopback ports.

Figures per tree and round:
- three unauthenticated 600 MB posts at once: seconds until answered, MB the
  clients had sent by then, peak MB of the server's temp files, RSS growth;
- one unauthenticated 300 MB post: seconds and MB sent until the answer;
- 230 connections sending a header line every 10 s (slowloris) from
  127.0.0.2: seconds /healthz takes from 127.0.0.1 (gives up at 20 s);
- an authorised 200 MB upload: MB/s (what the edge costs honest uploads).

    .venv/bin/python bench/edge.py --baseline /work/main [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve()
TOKEN = "bench-archivist-token-0123456789abcdef"
MB = 1024 ** 2


# --- the served app (run with PYTHONPATH at the tree under test) ------------------

def serve(port: int) -> None:
    import hashlib

    from flask import jsonify, request

    from services.cli import serve_app
    from shared import config, logs, web
    logs.setup("WARNING")
    settings = config.load()
    app = web.create_base_app("archive", settings, {}, {}, max_body_bytes=settings.max_upload_bytes)

    @app.post("/upload")
    @web.requires("archivist")
    def upload():
        digest, size = hashlib.sha256(), 0
        with tempfile.TemporaryFile() as fh:
            while chunk := request.stream.read(MB):
                digest.update(chunk)
                size += len(chunk)
                fh.write(chunk)
        return jsonify(bytes=size), 201
    if hasattr(web, "body_limit"):
        web.body_limit(app, "upload", settings.max_upload_bytes)
    serve_app(app, "127.0.0.1", port, threads=4)


# --- the attacks --------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, tree: Path):
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix="edge-bench-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_")}
        env.update(PYTHONPATH=str(tree), TMPDIR=str(self.tmp), ZHIFA_DATA_DIR=str(self.tmp / "var"),
                   ZHIFA_API_KEYS=f"{TOKEN}=archivist", ZHIFA_MAX_UPLOAD_BYTES=str(2 * 1024 ** 3))
        self.proc = subprocess.Popen([sys.executable, str(HERE), "--serve", str(self.port)], cwd=tree, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"server from {tree} did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        subprocess.run(["rm", "-rf", str(self.tmp)])


def post(port: int, length: int, token: str | None = None, source: str = "127.0.0.1") -> dict:
    """Stream `length` bytes from a reused megabyte; read the answer as soon as it comes."""
    import select
    sock = socket.create_connection(("127.0.0.1", port), timeout=120, source_address=(source, 0))
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    sock.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: %d\r\n%s\r\n" % (length, auth))
    sock.setblocking(False)
    block, sent, data, started, at = memoryview(b"x" * MB), 0, b"", time.monotonic(), None
    while time.monotonic() - started < 300:
        readable, writable, _ = select.select([sock], [sock] if sent < length else [], [], 1)
        if readable:
            try:
                got = sock.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                got = b""
            if at is None:
                at = (time.monotonic() - started, sent)
            data += got
            if not got or (b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].endswith(b"}")):
                break
        elif writable:
            try:
                sent += sock.send(block[:min(MB, length - sent)])
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
    sock.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else None
    return {"status": status, "seconds": at[0] if at else None, "sent": at[1] if at else sent,
            "total": time.monotonic() - started}


def peak_watch(server: Server, stop: threading.Event, peaks: dict) -> None:
    while not stop.wait(0.05):
        temp = 0
        for fd in Path(f"/proc/{server.proc.pid}/fd").iterdir():
            try:
                if os.readlink(fd).startswith(str(server.tmp)):
                    temp += os.stat(fd).st_size
            except OSError:
                pass
        rss = int(next(line for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines()
                       if line.startswith("VmRSS:")).split()[1]) * 1024
        peaks["temp"] = max(peaks.get("temp", 0), temp)
        peaks["rss"] = max(peaks.get("rss", 0), rss)


def three_600(server: Server) -> dict:
    results, stop, peaks = [None] * 3, threading.Event(), {}
    rss0 = int(next(line for line in Path(f"/proc/{server.proc.pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS:")).split()[1]) * 1024
    watcher = threading.Thread(target=peak_watch, args=(server, stop, peaks))
    watcher.start()

    def one(i):
        results[i] = post(server.port, 600 * MB, source=f"127.0.0.{2 + i}")
    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    watcher.join()
    return {"statuses": [r["status"] for r in results],
            "seconds": max(r["seconds"] or r["total"] for r in results),
            "sent_mb": max(r["sent"] for r in results) / MB,
            "temp_peak_mb": peaks.get("temp", 0) / MB, "rss_growth_mb": (peaks.get("rss", rss0) - rss0) / MB}


def slowloris(server: Server, count: int = 230, every: float = 10.0, give_up: float = 20.0) -> float | None:
    socks = []
    for _ in range(count):
        try:
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=("127.0.0.2", 0))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)
        except OSError:
            pass
    stop = threading.Event()

    def dribble():
        n = 0
        while not stop.wait(every):
            n += 1
            for s in socks:
                try:
                    s.sendall(b"X-%d: a\r\n" % n)
                except OSError:
                    pass
    threading.Thread(target=dribble, daemon=True).start()
    time.sleep(0.5)
    started = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=give_up).close()
        took = time.monotonic() - started
    except OSError:
        took = None
    stop.set()
    for s in socks:
        s.close()
    return took


def measure(tree: Path) -> dict:
    server = Server(tree)
    try:
        figures = {"three_600": three_600(server)}
        one = post(server.port, 300 * MB)
        figures["one_300"] = {"status": one["status"], "seconds": one["seconds"], "sent_mb": one["sent"] / MB}
        good = post(server.port, 200 * MB, token=TOKEN)
        figures["upload_200_mb_per_s"] = 200 / good["total"] if good["status"] == 201 else None
        figures["healthz_under_slowloris_s"] = slowloris(server)
        return figures
    finally:
        server.stop()


def rounded(value):
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", type=int)
    parser.add_argument("--baseline", type=Path, default=Path("/work/main"))
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    trees = {"baseline": args.baseline.resolve(), "this": HERE.parent.parent}
    for round_ in range(1, args.rounds + 1):
        for name, tree in trees.items():
            figures = measure(tree)
            print(json.dumps(rounded({"round": round_, "tree": name, "path": str(tree), **figures,
                                      "loadavg": list(os.getloadavg())})), flush=True)


if __name__ == "__main__":
    main()
