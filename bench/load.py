"""Load: the generator and the search service served as in production, hit by many clients at once.

    .venv/bin/python bench/load.py [--documents 200] [--concurrency 200] [--decisions 3000]
                                   [--searchers 50] [--searches 40] [--only generator|search]

1. generator: `zhifa serve generator` and two `zhifa worker generator` on a PostgreSQL database of
   its own and a redis-server of its own (never the machine's shared one). `--concurrency` clients
   send `--documents` POST /v1/documents at once (penalty decisions; `Prefer: respond-async`, so
   the two workers make the PDFs, as a case system that does not wait would ask). Printed: the
   answers' throughput and p50/p95/p99, the time until every PDF exists (polled in the database)
   and its percentiles per document, errors (must be 0), and the registry checked after the run:
   numbers gapless and unique, one row per request. `--sync` makes each request wait for its PDF
   (the web process converts; the workers idle).
2. search: `zhifa serve search` on PostgreSQL with `--decisions` published decisions (inserted
   into its database and indexed at start, as bench/search.py does), then `--searchers` clients
   each run `--searches` queries (JSON API and the HTML page alternately, one to three words,
   some filtered by kind and date). Printed: throughput, p50/p95/p99, errors, load average.

Plain asyncio + httpx (already a dependency): one event loop drives all clients, so the client
itself is not what saturates first; nothing is timed inside the services.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date, datetime, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TOKEN = "load-case-system-token"
PUBLISHER = "load-publisher-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    return "load average " + " ".join(f"{v:.1f}" for v in os.getloadavg())


def figures(samples: list[float]) -> str:
    """p50 / p95 / p99 (and max) of seconds, in ms."""
    if len(samples) < 2:
        return "n/a"
    q = statistics.quantiles(samples, n=100, method="inclusive")
    return f"p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms"


@contextmanager
def database(admin_url: str, prefix: str):
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def redis_server(work: Path):
    """A redis-server of this run's own (the machine's is shared with tests that flush it)."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(work)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis
    deadline = time.monotonic() + 10
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise SystemExit("redis-server did not start")
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.kill()
        proc.wait()


def base_env(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k == "ZHIFA_FONTS_DIR"}
    env.setdefault("ZHIFA_FONTS_DIR", str(ROOT / "build" / "fonts"))
    env.update(PYTHONPATH=str(ROOT), ZHIFA_DATA_DIR=str(work / "var"), ZHIFA_LOG_LEVEL="WARNING",
               ZHIFA_API_KEYS=f"{TOKEN}=case-system,{PUBLISHER}=publisher",
               ZHIFA_PUBLIC_VERIFY_URL="https://zhifa.example.gov.cn/verify",
               ZHIFA_HTTP_CONNECTION_LIMIT="400")
    return env


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.cli", *argv], env=env, cwd=ROOT,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_ready(base: str, procs: list[subprocess.Popen], log: Path, check=None, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10) as probe:
        while True:
            try:
                if probe.get("/readyz").status_code == 200 and (check is None or check(probe)):
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit(f"the service did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)


# --- 1. generator -------------------------------------------------------------------------------

def generator_run(args, work: Path) -> bool:
    from redis import Redis
    from rq import Worker

    from services.generator.catalogue import Catalogue
    data = Catalogue().get("penalty_decision").example
    with database(args.postgres, "zhifa_load_gen") as db_url, redis_server(work) as redis_url:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**base_env(work), "ZHIFA_GENERATOR_DATABASE_URL": db_url, "ZHIFA_REDIS_URL": redis_url,
               "ZHIFA_GENERATOR_URL": base, "ZHIFA_DEPLOYMENT": f"load{port}"}
        log = work / "generator.log"
        procs = [start(["serve", "generator", "--port", str(port), "--threads", str(args.threads)],
                       {**env, "ZHIFA_SOFFICE_POOL_SIZE": "2"}, log)]
        procs += [start(["worker", "generator"], {**env, "ZHIFA_SOFFICE_POOL_SIZE": "1"}, log) for _ in range(2)]
        try:
            wait_ready(base, procs, log, lambda _: Worker.count(connection=Redis.from_url(redis_url)) >= 2)
            engine = create_engine(db_url)

            def pdfs_done() -> dict[str, str]:
                with engine.connect() as conn:
                    return dict(conn.execute(text("SELECT id, pdf_status FROM documents")).all())
            # Warm-up: one document through a worker, so every LibreOffice is started before the clock.
            warm = httpx.post(base + "/v1/documents", json={"type": "penalty_decision", "data": data},
                              headers={"Authorization": f"Bearer {TOKEN}", "Prefer": "respond-async"}, timeout=120)
            assert warm.status_code == 201, warm.text
            deadline = time.monotonic() + 180
            while pdfs_done().get(warm.json()["id"]) != "done":
                if time.monotonic() > deadline:
                    raise SystemExit(f"warm-up PDF not made:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            time.sleep(5)     # the other members' LibreOffice finish starting (they warm in the background)

            mode = "sync (each request makes its PDF)" if args.sync else "respond-async (the workers make the PDFs)"
            print(f"\n1. generator: {args.documents} POST /v1/documents, {args.concurrency} at once, {mode}; "
                  f"zhifa serve (pool 2, {args.threads} threads) + 2 zhifa worker (pool 1 each), "
                  f"PostgreSQL + Redis; {load()}")
            t0, answers, errors, sent_at, ids, made_at = asyncio.run(generator_clients(base, data, args))
            answered = max(a for _, a in answers) if answers else 0.0
            ok = len(ids)
            print(f"   answers: {ok} of {args.documents} 201 in {answered:.1f} s = {ok / answered:.1f} req/s; "
                  f"{figures([latency for latency, _ in answers])}")
            print(f"   errors: {len(errors)}" + (f" ({errors[:3]})" if errors else ""))
            # Until every PDF exists (as a case system polling would see it), by polling the database.
            ready_at: dict[str, float] = dict(made_at)
            deadline = time.monotonic() + args.pdf_wait
            while len(ready_at) < ok and time.monotonic() < deadline:
                now = time.perf_counter() - t0
                for doc_id, status in pdfs_done().items():
                    if doc_id in ids and doc_id not in ready_at and status in ("done", "failed"):
                        ready_at[doc_id] = now
                time.sleep(0.25)
            failed = [i for i, s in pdfs_done().items() if i in ids and s != "done"]
            all_done = max(ready_at.values()) if ready_at else float("nan")
            print(f"   PDFs: {len(ready_at) - len(failed)} of {ok} made, every one within {all_done:.1f} s of the "
                  f"first request = {ok / all_done:.2f} docs/s end to end; per document (request sent → PDF "
                  f"stored, ±0.25 s): {figures([ready_at[i] - sent_at[i] for i in ready_at])}; "
                  f"not made: {len(failed)}")
            with engine.connect() as conn:
                seqs = sorted(conn.execute(text("SELECT seq FROM documents WHERE type = 'penalty_decision'"))
                              .scalars())
                rows = conn.execute(text("SELECT count(*) FROM documents")).scalar()
            gapless = seqs == list(range(1, len(seqs) + 1))
            print(f"   registry: {rows} documents ({ok} + 1 warm-up), numbers 1..{seqs[-1] if seqs else 0} "
                  f"{'gapless and unique' if gapless else 'NOT gapless/unique'}; {load()}")
            engine.dispose()
            return not errors and gapless and rows == ok + 1 and not failed and len(ready_at) == ok
        finally:
            stop(procs)


async def generator_clients(base: str, data: dict, args):
    """All requests at once (a semaphore of `concurrency`): the start (perf_counter), [(latency, answered
    at)], errors, {id: sent at}, ids, {id: answered at} of answers with their PDF; times from the start."""
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    if not args.sync:
        headers["Prefer"] = "respond-async"
    answers, errors, sent_at, ids, made_at = [], [], {}, set(), {}
    gate = asyncio.Semaphore(args.concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(600, connect=60),
                                 headers=headers) as client:
        t0 = time.perf_counter()

        async def one(i: int) -> None:
            async with gate:
                started = time.perf_counter() - t0
                try:
                    resp = await client.post("/v1/documents", json={"type": "penalty_decision", "data": data})
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    return
                finished = time.perf_counter() - t0
                if resp.status_code != 201:
                    errors.append(f"{resp.status_code} {resp.text[:200]}")
                    return
                doc = resp.json()
                answers.append((finished - started, finished))
                sent_at[doc["id"]] = started
                ids.add(doc["id"])
                if doc["files"]["pdf"]["status"] == "done":      # --sync: the answer brought the PDF
                    made_at[doc["id"]] = finished
        await asyncio.gather(*(one(i) for i in range(args.documents)))
    return t0, answers, errors, sent_at, ids, made_at


# --- 2. search ----------------------------------------------------------------------------------

def bench_search_module():
    """bench/search.py's synthetic decisions (the same corpus its figures are measured on)."""
    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


WORDS = ["罚款", "许可", "食品", "安全生产", "广告", "消防", "排污", "餐饮", "罚", "证", "变更登记", "保质期",
         "特种设备", "明码标价", "现场核查", "铁东区", "海城", "行政复议", "从轻处罚", "道路运输"]


def search_run(args, work: Path) -> bool:
    from services.search.models import Base, Decision
    corpus = bench_search_module()
    rng = random.Random(13)
    docs = [corpus.make_decision(rng, n) for n in range(1, args.decisions + 1)]
    with database(args.postgres, "zhifa_load_search") as db_url:
        engine = create_engine(db_url)
        Base.metadata.create_all(engine)
        now = datetime.now(timezone.utc)
        with engine.begin() as conn:
            for at in range(0, len(docs), 2000):
                conn.execute(insert(Decision), [corpus.row(d, now) for d in docs[at:at + 2000]])
        engine.dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**base_env(work), "ZHIFA_SEARCH_DATABASE_URL": db_url, "ZHIFA_SEARCH_URL": base,
               "ZHIFA_SEARCH_RATE_LIMIT": "10000000 per minute"}
        log = work / "search.log"
        procs = [start(["serve", "search", "--port", str(port), "--threads", str(args.threads)], env, log)]
        try:
            # Ready once the index built at start holds every decision still on show (the service rebuilds
            # a missing index; those whose publication period has ended are never shown).
            shown = sum(d.publish_until >= date.today() for d in docs)
            wait_ready(base, procs, log, lambda probe: probe.get("/v1/search", params={"size": 1}).json()
                       .get("total") == shown, seconds=600)
            print(f"\n2. search: {args.searchers} clients × {args.searches} queries, {args.decisions} published "
                  f"decisions ({shown} still on show), zhifa serve search ({args.threads} threads, embedded Tantivy, PostgreSQL); {load()}")
            latencies, errors, took, pages = asyncio.run(search_clients(base, args))
            print(f"   {len(latencies)} answers in {took:.1f} s = {len(latencies) / took:.1f} req/s; "
                  f"{figures(latencies)} (API and page alike; page answers: {pages})")
            print(f"   errors: {len(errors)}" + (f" ({errors[:3]})" if errors else "") + f"; {load()}")
            return not errors
        finally:
            stop(procs)


async def search_clients(base: str, args):
    limits = httpx.Limits(max_connections=args.searchers, max_keepalive_connections=args.searchers)
    latencies, errors, pages = [], [], 0
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(120, connect=60)) as client:
        async def searcher(n: int) -> None:
            nonlocal pages
            rng = random.Random(n)
            for i in range(args.searches):
                params = {"q": " ".join(rng.sample(WORDS, rng.randint(1, 3)))}
                if i % 4 == 3:
                    params.update(kind=rng.choice(["penalty", "license"]), **{"from": "2023-01-01",
                                  "to": date.today().isoformat()})
                path = "/" if i % 2 else "/v1/search"
                started = time.perf_counter()
                try:
                    resp = await client.get(path, params=params)
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                    continue
                if resp.status_code != 200:
                    errors.append(f"{resp.status_code} {path} {params} {resp.text[:200]}")
                    continue
                latencies.append(time.perf_counter() - started)
                pages += path == "/"
        t0 = time.perf_counter()
        await asyncio.gather(*(searcher(n) for n in range(args.searchers)))
        took = time.perf_counter() - t0
    return latencies, errors, took, pages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--sync", action="store_true", help="each request waits for its PDF")
    parser.add_argument("--pdf-wait", type=float, default=900, help="seconds to wait for every PDF")
    parser.add_argument("--decisions", type=int, default=3000)
    parser.add_argument("--searchers", type=int, default=50)
    parser.add_argument("--searches", type=int, default=40, help="queries per searcher")
    parser.add_argument("--threads", type=int, default=16, help="each served process's waitress threads")
    parser.add_argument("--only", choices=["generator", "search"])
    parser.add_argument("--postgres", default=os.environ.get(
        "ZHIFA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zhifa-load-"))
    print(f"work dir {work}; {os.cpu_count()} CPUs; {load()}")
    ok = True
    try:
        if args.only in (None, "generator"):
            ok &= generator_run(args, work)
        if args.only in (None, "search"):
            ok &= search_run(args, work)
    finally:
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"logs kept in {work}")
    print("PASS: no errors, numbers gapless and unique" if ok else "FAIL (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
