"""The three services as one system, measured: how long a decision takes from its
issue to its pending entry in the search service (the generator's outbox
delivers it), with the notice handed out at commit (as shipped) and left to the
outbox's drain loop (what it would be without the wake, the baseline), alternated
in the same run; and the wall time of `zhifa demo`.

    python bench/flow.py [--decisions 20]

Starts the three services (embedded defaults: SQLite, inline jobs) on free
loopback ports under a temp dir, prints the figures and os.getloadavg().
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Made afresh each run (tokens of fewer than 32 characters are refused).
TOKENS = {role: secrets.token_urlsafe(32) for role in ("case-system", "archivist", "publisher", "admin")}


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(url: str, method: str = "GET", body=None, role: str | None = None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if role:
        req.add_header("Authorization", f"Bearer {TOKENS[role]}")
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.loads(resp.read() or b"null")


def start(tmp: Path, wake: bool) -> tuple[list[subprocess.Popen], dict]:
    ports = {n: free_port() for n in ("generator", "archive", "search")}
    urls = {n: f"http://127.0.0.1:{p}" for n, p in ports.items()}
    keys = tmp / "api-keys"
    keys.write_text("".join(f"{t}={r}\n" for r, t in TOKENS.items()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k == "ZHIFA_FONTS_DIR"}
    env.update(ZHIFA_DATA_DIR=str(tmp / "var"), ZHIFA_API_KEYS_FILE=str(keys), ZHIFA_SOFFICE_POOL_SIZE="1",
               ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"], ZHIFA_SEARCH_TOKEN=TOKENS["case-system"],
               PYTHONPATH=str(ROOT), **{f"ZHIFA_{n.upper()}_URL": u for n, u in urls.items()})
    log = open(tmp / "services.log", "w")
    # The baseline: the notice waits for the drain loop (every 5 s) instead of being handed out at commit.
    prelude = ("import services.generator.publication_notices as m;"
               "m.event = type('NoWake', (), {'listen': staticmethod(lambda *a, **k: None)});") if not wake else ""
    procs = [subprocess.Popen([sys.executable, "-c", prelude + "import sys; from services.cli import main;"
                               f"sys.exit(main(['serve', '{n}', '--port', '{ports[n]}']))"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) for n in ports]
    deadline = time.monotonic() + 120
    while True:
        try:
            if all(call(u + "/readyz")["status"] == "ready" for u in urls.values()):
                break
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise SystemExit((tmp / "services.log").read_text()[-3000:])
        time.sleep(0.3)
    return procs, {"urls": urls, "keys": keys, "env": env}


def stop(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=40)


def notice_latency(urls: dict, example: dict) -> float:
    """Seconds from the issuing request's answer to the decision's entry in GET /v1/pending."""
    doc = call(urls["generator"] + "/v1/documents", "POST",
               {"type": "penalty_decision", "data": example, "formats": ["docx"]}, "case-system")
    issued = time.monotonic()
    while True:
        entries = call(urls["search"] + "/v1/pending?size=200", role="publisher")["entries"]
        if any(e["document_id"] == doc["id"] for e in entries):
            return time.monotonic() - issued
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=20)
    args = parser.parse_args()
    from services.generator.catalogue import Catalogue
    example = copy.deepcopy(Catalogue().get("penalty_decision").example)
    with tempfile.TemporaryDirectory() as a_dir, tempfile.TemporaryDirectory() as b_dir:
        shipped, shipped_info = start(Path(a_dir), wake=True)
        baseline, baseline_info = start(Path(b_dir), wake=False)
        try:
            figures = {"at commit (shipped)": [], "drain loop only (baseline)": []}
            for _ in range(args.decisions):       # interleaved: both see the same load
                figures["at commit (shipped)"].append(notice_latency(shipped_info["urls"], example))
                figures["drain loop only (baseline)"].append(notice_latency(baseline_info["urls"], example))
            print(f"issue -> pending entry, {args.decisions} penalty decisions each, load {os.getloadavg()}")
            for name, values in figures.items():
                values.sort()
                print(f"  {name:28} p50 {statistics.median(values):6.2f} s   p95 "
                      f"{values[max(0, round(0.95 * len(values)) - 1)]:6.2f} s   max {values[-1]:6.2f} s")
            urls = shipped_info["urls"]
            began = time.monotonic()
            demo = subprocess.run([sys.executable, "-m", "services.cli", "demo", "--generator", urls["generator"],
                                   "--archive", urls["archive"], "--search", urls["search"],
                                   "--keys", str(shipped_info["keys"])], cwd=ROOT, env=shipped_info["env"],
                                  capture_output=True, text=True)
            print(f"zhifa demo (two cases, 7 documents, 2 sealed files): {time.monotonic() - began:.1f} s, "
                  f"exit {demo.returncode}, load {os.getloadavg()}")
            if demo.returncode:
                print(demo.stdout[-2000:], demo.stderr[-2000:])
        finally:
            stop(shipped)
            stop(baseline)


if __name__ == "__main__":
    main()
