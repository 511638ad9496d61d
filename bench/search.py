"""Search benchmark (embedded Tantivy backend, over HTTP while publishing runs).

    .venv/bin/python bench/search.py [--count 20000] [--queries 200] [--publishers 4] [--workers 2]

1. N realistic decisions are written to a fresh PostgreSQL database (the
   source of truth) and indexed with `TantivyIndex.rebuild` (what
   `zhifa search reindex` runs; jieba in `--workers` processes).
2. Exactness: for `--check` (20) queries of each class, the API's total equals a plain
   SQL `LIKE` count of the same rows.
3. `zhifa serve search` runs in a subprocess; `--publishers` clients POST new
   decisions through the API (validation, redaction, database, index) for the
   whole query phase, while one client times `GET /v1/search` (exact total,
   facets, top 20, snippets) for 1-, 2-, 4-term and filtered queries, and each
   query is also run as a `LIKE` scan (count + newest 20) of a plain SQLite
   table of the same rows in this process: the baseline of the same run.
4. Where publishing time goes: redaction, segmentation + index fields, per decision.

Targets (issue 10): query p95 ≤ 20 ms at 20,000 and ≤ 30 ms at 100,000
decisions, ≥ 5× faster than LIKE per class; publishing ≥ 200 decisions/s.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.search.analysis import Analyzer  # noqa: E402
from services.search.index import IndexDoc  # noqa: E402
from services.search.models import Decision  # noqa: E402
from services.search.tantivy_index import TantivyIndex, fields  # noqa: E402
from shared.migrate import Migrations  # noqa: E402

AGENCIES = ["鞍山市营商环境建设局", "鞍山市行政审批局", "鞍山市市场监督管理局", "鞍山市生态环境局", "鞍山市应急管理局",
            "鞍山市交通运输局", "鞍山市城市管理综合行政执法局", "鞍山市卫生健康委员会"]
DISTRICTS = ["铁东区", "铁西区", "立山区", "千山区", "高新区", "海城市", "台安县", "岫岩满族自治县"]
TRADES = ["商贸", "餐饮", "建材", "物流", "药房", "超市", "汽车维修", "印刷", "加油站", "五金", "食品加工", "美容美发"]
SUFFIX = ["有限公司", "经营部", "商行", "店", "股份有限公司"]
VIOLATIONS = [
    ("未依法办理住所变更登记", "《中华人民共和国市场主体登记管理条例》第四十六条"),
    ("销售超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条第一款"),
    ("未取得食品经营许可从事食品经营活动", "《中华人民共和国食品安全法》第一百二十二条第一款"),
    ("未按规定设置安全生产管理机构", "《中华人民共和国安全生产法》第九十七条"),
    ("消防设施未保持完好有效", "《中华人民共和国消防法》第六十条第一款"),
    ("超标排放大气污染物", "《中华人民共和国大气污染防治法》第九十九条"),
    ("使用未经检验的特种设备", "《中华人民共和国特种设备安全法》第八十四条"),
    ("发布虚假广告", "《中华人民共和国广告法》第五十五条第一款"),
    ("未明码标价", "《中华人民共和国价格法》第四十二条"),
    ("道路运输经营者未按规定维护车辆", "《中华人民共和国道路运输条例》第七十条"),
]
LICENSES = ["食品经营许可（餐饮服务）", "药品经营许可", "建筑工程施工许可", "道路运输经营许可", "排污许可",
            "公共场所卫生许可", "特种设备使用登记", "危险化学品经营许可", "人力资源服务许可", "医疗机构执业许可"]
PHRASES = ["经现场检查", "执法人员出示执法证件", "当事人对上述事实无异议", "有现场检查笔录、询问笔录、照片等证据为证",
           "本机关依法向当事人送达了行政处罚事先告知书", "当事人在法定期限内未提出陈述申辩", "综合考虑违法情节",
           "依法从轻处罚", "责令当事人立即改正违法行为", "当事人积极配合调查", "经审查，申请材料齐全、符合法定形式",
           "本机关依法组织了现场核查", "申请人符合法定条件、标准"]


def make_decision(rng: random.Random, n: int) -> IndexDoc:
    decided = date(2022, 1, 1) + timedelta(days=rng.randrange(0, 365 * 4))
    party = rng.choice(["鞍山", "海城", "台安"]) + rng.choice(["市", ""]) + "".join(
        rng.sample("华盛鑫源泰丰达隆兴宏福瑞恒通祥德永昌", 2)) + rng.choice(TRADES) + rng.choice(SUFFIX)
    agency = rng.choice(AGENCIES)
    if rng.random() < 0.6:
        violation, basis = rng.choice(VIOLATIONS)
        fine = rng.choice([500, 1000, 2000, 5000, 10000, 20000, 50000, 100000])
        sentences = [f"当事人{party}位于鞍山市{rng.choice(DISTRICTS)}，于{decided.year}年{decided.month}月{violation}。",
                     *rng.sample(PHRASES, 7),
                     f"当事人的行为违反了{basis.replace('第一百', '第').split('第')[0]}的有关规定。",
                     f"依据{basis}，本机关决定对当事人罚款人民币{fine}元。",
                     "如不服本决定，可以自收到本决定书之日起六十日内向鞍山市人民政府申请行政复议，"
                     "也可以自收到本决定书之日起六个月内向人民法院提起行政诉讼。"]
        return IndexDoc(f"鞍罚决字〔{decided.year}〕第{n}号", "penalty", "行政处罚决定书", agency, party, decided,
                        decided + timedelta(days=3 * 365), "".join(sentences))
    item = rng.choice(LICENSES)
    sentences = [f"申请人{party}于{decided.year}年{decided.month}月提出{item}申请。", *rng.sample(PHRASES, 6),
                 f"根据《中华人民共和国行政许可法》第三十八条第一款的规定，本机关决定准予{item}。",
                 f"许可证编号：{rng.choice(['JY', 'YP', 'DL', 'PW'])}{rng.randrange(10**13, 10**14)}，"
                 f"有效期五年。经营场所：鞍山市{rng.choice(DISTRICTS)}示例路{rng.randrange(1, 999)}号。"]
    kind = "license" if rng.random() < 0.9 else "other"
    return IndexDoc(f"鞍许准字〔{decided.year}〕第{n}号", kind, "准予行政许可决定书" if kind == "license" else "行政强制决定书",
                    agency, party, decided, decided + timedelta(days=5 * 365), "".join(sentences))


def _cpu() -> float:
    """CPU seconds of this process and of its reaped children (the segmentation workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live descendants (a server and its preparing processes)."""
    tick, total, todo = os.sysconf("SC_CLK_TCK"), 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            stat = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(stat[11]) + int(stat[12])) / tick
            for task in os.listdir(f"/proc/{current}/task"):
                todo += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
        except OSError:
            pass
    return total


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def row(d: IndexDoc, now: datetime) -> dict:
    return {"number": d.number, "kind": d.kind, "title": d.title, "agency": d.agency, "party": d.party,
            "party_kind": "organization", "decided_on": d.decided_on, "publish_until": d.publish_until,
            "summary": d.body, "legal_basis": [], "content": "", "text": "", "disclosure": {}, "redactions": {},
            "status": "published", "published_at": now, "updated_at": now, "published_by": "bench"}


def publication(rng: random.Random, n: int, today: date) -> dict:
    """A new decision as a publisher POSTs it (decided in the last two months)."""
    d = make_decision(rng, n)
    decided = today - timedelta(days=rng.randrange(1, 60))
    body = {"number": d.number.replace("〔", "〔P").replace("第", "第9"), "kind": d.kind, "title": d.title,
            "agency": d.agency, "party": {"kind": "organization", "name": d.party},
            "decided_on": decided.isoformat(), "summary": d.body}
    if d.kind == "penalty":
        body["penalties"] = [{"kind": "罚款", "amount_yuan": 5000}]
    else:
        body["publish_until"] = (decided + timedelta(days=3 * 365)).isoformat()
    return body


class Publishers:
    """`count` clients POSTing decisions through the API until stopped, in a process of
    their own: their JSON and HTTP work must not hold the GIL of the timing client."""

    def __init__(self, url: str, token: str, count: int, first: int, today: date):
        ctx = multiprocessing.get_context("spawn")
        self.stop, self.results = ctx.Event(), ctx.Queue()
        self.process = ctx.Process(target=_publish, args=(url, token, count, first, today, self.stop, self.results),
                                   daemon=True)
        self.ok = self.failed = 0

    def start(self) -> float:
        self.process.start()
        return time.perf_counter()

    def finish(self) -> None:
        self.stop.set()
        self.ok, self.failed = self.results.get(timeout=120)
        self.process.join(30)


def _publish(url: str, token: str, count: int, first: int, today: date, stop, results) -> None:
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def run(first: int) -> None:
        rng = random.Random(first)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        with httpx.Client(base_url=url, timeout=30) as client:
            n = first
            while not stop.is_set():
                n += 1
                resp = client.post("/v1/decisions", content=json.dumps(publication(rng, n, today),
                                                                       ensure_ascii=False).encode(), headers=headers)
                with lock:
                    if resp.status_code in (200, 201):
                        counts["ok"] += 1
                    else:
                        counts["failed"] += 1
                        if counts["failed"] <= 3:
                            print("publish failed:", resp.status_code, resp.text[:300], file=sys.stderr)

    threads = [threading.Thread(target=run, args=(first + i * 10_000_000,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put((counts["ok"], counts["failed"]))


def like_query(like: sqlite3.Connection, terms: list[str], filtered: bool, today: date) -> int:
    where = " AND ".join(["(title || party || number || agency || body) LIKE ?"] * len(terms))
    params = [f"%{w}%" for w in terms]
    if filtered:
        where += " AND kind = 'penalty' AND decided_on BETWEEN '2024-01-01' AND '2024-12-31'"
    count = like.execute(f"SELECT count(*) FROM plain WHERE {where} AND until >= ?",
                         [*params, today.isoformat()]).fetchone()[0]
    like.execute(f"SELECT number, title, body FROM plain WHERE {where} AND until >= ? "
                 "ORDER BY decided_on DESC LIMIT 20", [*params, today.isoformat()]).fetchall()
    return count


def where_time_goes(docs: list[IndexDoc]) -> None:
    """Per decision, in this process: redaction, and the index fields (jieba) a commit computes."""
    from services.search.redaction import Context, Redactor
    analyzer = Analyzer()
    redactor = Redactor(analyzer)
    analyzer.warm()
    sample = docs[:300]
    context = Context(party_name="示例公司", party_is_person=False)
    t = time.perf_counter()
    for d in sample:
        redactor.redact(d.body, context)
    redact = (time.perf_counter() - t) / len(sample) * 1000
    fresh = Analyzer()
    fresh.warm()
    t = time.perf_counter()
    for d in sample:
        fields(fresh, d)
    segment = (time.perf_counter() - t) / len(sample) * 1000
    print(f"per decision (in-process, {len(sample)} decisions): redaction {redact:.2f} ms, "
          f"index fields (jieba, first sight of each clause) {segment:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="server threads")
    parser.add_argument("--check", type=int, default=20, help="queries per class whose totals are checked by LIKE")
    parser.add_argument("--split", action="store_true",
                        help="publish to a process of role all, search a public one (ZHIFA_SEARCH_ROLE=public; one data dir, one database)")
    parser.add_argument("--postgres", default=os.environ.get(
        "ZHIFA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()
    rng = random.Random(6)
    docs = [make_decision(rng, n) for n in range(1, args.count + 1)]
    chars = sum(len(d.body) for d in docs) / len(docs)
    work = Path(tempfile.mkdtemp(prefix="zhifa-bench-search-"))
    print(f"{args.count} decisions, {chars:.0f} characters of text on average; work dir {work}")

    # 1. the database, then the index rebuilt from it
    name = f"zhifa_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = args.postgres.rsplit("/", 1)[0] + "/" + name
    servers: list[subprocess.Popen] = []
    try:
        engine = create_engine(db_url)
        Migrations("search").upgrade(engine)     # the service refuses a PostgreSQL database made by create_all
        now = datetime.now(timezone.utc)
        with engine.begin() as conn:
            for at in range(0, len(docs), 2000):
                conn.execute(insert(Decision), [row(d, now) for d in docs[at:at + 2000]])
        engine.dispose()
        index_dir = work / "var" / "search" / "tantivy"
        index = TantivyIndex(index_dir, Analyzer())
        load = os.getloadavg()[0]
        started, cpu = time.perf_counter(), _cpu()
        index.rebuild(iter(docs), workers=args.workers)
        seconds, cpu = time.perf_counter() - started, _cpu() - cpu
        index.close()
        size = sum(p.stat().st_size for p in index_dir.rglob("*") if p.is_file())
        print(f"indexing (rebuild): {seconds:.1f} s, {args.count / seconds:,.0f} decisions/s "
              f"({args.workers} segmentation processes); {cpu:.1f} CPU s, {cpu / args.count * 1e6:.0f} CPU µs "
              f"per decision; load average {load:.1f} before, {os.getloadavg()[0]:.1f} after")
        print(f"index size: {size / 2**20:.0f} MB")

        # 2. the service
        port, token = free_port(), "bench-publisher-token-0123456789abcdef"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_")},
               "PYTHONPATH": str(ROOT), "ZHIFA_DATA_DIR": str(work / "var"),
               "ZHIFA_SEARCH_DATABASE_URL": db_url, "ZHIFA_API_KEYS": f"{token}=publisher",
               "ZHIFA_SEARCH_RATE_LIMIT": "10000000 per minute",
               "ZHIFA_PUBLIC_VERIFY_URL": "https://zhifa.example.gov.cn/verify"}
        ports = [port] + ([free_port()] if args.split else [])
        for i, p in enumerate(ports):
            # --split: the second process is the public one (ZHIFA_SEARCH_ROLE=public, README's Deployment)
            role = {"ZHIFA_SEARCH_ROLE": "public"} if i == 1 else {}
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", "search", "--host", "127.0.0.1", "--port", str(p),
                 "--threads", str(args.threads)], env={**env, **role}, cwd=ROOT, stdout=subprocess.DEVNULL,
                stderr=open(work / f"server{i}.log", "w")))
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for url, server in zip(urls, servers):
            with httpx.Client(base_url=url, timeout=30) as probe:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        if probe.get("/readyz").status_code == 200 and probe.get("/v1/search").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit(f"the service did not start; see the logs in {work}")
                    time.sleep(0.2)
        # --split: publications go to one process, searches to another (same data dir and database)
        url, publish_url = urls[-1], urls[0]
        client = httpx.Client(base_url=url, timeout=30)

        words = ["罚款", "许可", "食品", "安全生产", "广告", "消防", "排污", "餐饮", "罚", "证", "变更登记", "保质期",
                 "特种设备", "明码标价", "现场核查", "铁东区", "海城", "行政复议", "从轻处罚", "道路运输"]
        today = date.today()
        sets = {
            "1 term": [[rng.choice(words)] for _ in range(args.queries)],
            "2 terms": [rng.sample(words, 2) for _ in range(args.queries)],
            "4 terms": [rng.sample(words, 4) for _ in range(args.queries)],
            "1 term + kind + date range": [[rng.choice(words)] for _ in range(args.queries)],
        }
        like = sqlite3.connect(work / "plain.sqlite3")
        like.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, number TEXT, kind TEXT, title TEXT, agency TEXT, "
                     "party TEXT, decided_on TEXT, until TEXT, body TEXT)")
        like.executemany("INSERT INTO plain (number, kind, title, agency, party, decided_on, until, body) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         ((d.number, d.kind, d.title, d.agency, d.party, d.decided_on.isoformat(),
                           d.publish_until.isoformat(), d.body) for d in docs))
        like.commit()

        def params(terms: list[str], label: str) -> dict:
            p = {"q": " ".join(terms)}
            if "kind" in label:
                p.update(kind="penalty", **{"from": "2024-01-01", "to": "2024-12-31"})
            return p

        # 3. exactness, before anything is published
        same = checked = 0
        for label, queries in sets.items():
            for terms in queries[:args.check]:
                answer = client.get("/v1/search", params=params(terms, label)).json()
                checked += 1
                same += answer["total"] == like_query(like, terms, "kind" in label, today) \
                    and not answer["total_approximate"] and not answer["facets_approximate"]
        print(f"exact totals: {same} of {checked} API totals equal the LIKE count of the same query")

        # 4. queries over HTTP while publishing runs
        load, server_cpu = os.getloadavg()[0], sum(tree_cpu(server.pid) for server in servers)
        publishers = Publishers(publish_url, token, args.publishers, args.count + 1, today)
        began = publishers.start()
        where = "to another server process on the same data dir" if args.split else "to the same server process"
        print(f"\nover HTTP, {args.publishers} clients publishing meanwhile ({where}); LIKE in this process, same run")
        print(f"{'query':<28}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'LIKE p50':>10}{'LIKE p95':>10}"
              f"{'LIKE/HTTP p95':>15}")
        for label, queries in sets.items():
            http_ms, like_ms = [], []
            for terms in queries:
                t = time.perf_counter()
                resp = client.get("/v1/search", params=params(terms, label))
                http_ms.append((time.perf_counter() - t) * 1000)
                assert resp.status_code == 200, resp.text[:300]
                t = time.perf_counter()
                like_query(like, terms, "kind" in label, today)
                like_ms.append((time.perf_counter() - t) * 1000)
            p50, p95, p99 = percentiles(http_ms)
            l50, l95, _ = percentiles(like_ms)
            print(f"{label:<28}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}{l50:>10.1f}{l95:>10.1f}{l95 / p95:>14.1f}x")
        publishers.finish()
        elapsed = time.perf_counter() - began
        server_cpu = sum(tree_cpu(server.pid) for server in servers) - server_cpu
        print(f"\npublishing through the API meanwhile: {publishers.ok} decisions in {elapsed:.1f} s = "
              f"{publishers.ok / elapsed:,.0f} decisions/s ({publishers.failed} failed); "
              f"load average {load:.1f} before the queries, {os.getloadavg()[0]:.1f} after")
        print(f"server CPU (its processes, searches included) per publication: "
              f"{server_cpu / max(publishers.ok, 1) * 1000:.1f} ms; {server_cpu / elapsed:.2f} cores on average")
        # what was published is searchable (near-real-time)
        time.sleep(1.0)
        found = client.get("/v1/search", params={"q": "", "from": (today - timedelta(days=60)).isoformat()}).json()
        print(f"published decisions searchable 1 s after the last 201: {found['total']} of {publishers.ok}")
        client.close()
        where_time_goes(docs)
    finally:
        for server in servers:
            server.terminate()
            try:
                server.wait(120)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
