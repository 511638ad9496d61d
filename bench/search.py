"""Search benchmark (embedded backend): index N realistic decisions, then
measure query latency p50/p95/p99 for 1-, 2- and 4-term queries and for
filtered ones, against a plain SQL `LIKE` scan of the same rows.

    .venv/bin/python bench/search.py [--count 100000] [--queries 200] [--workers 2]

Targets (issue 6): p95 under 50 ms, indexing over 2,000 decisions/s.
Indexing is `FtsIndex.rebuild` (what `zhifa search reindex` runs): segmentation
(jieba) in `--workers` processes, SQLite writes in this one. The LIKE baseline
scans a plain table of the same rows (count + newest 20) in the same run.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.search.analysis import Analyzer  # noqa: E402
from services.search.fts import FtsIndex  # noqa: E402
from services.search.index import IndexDoc, SearchQuery, parse_terms  # noqa: E402

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


def build(path: Path, docs: list[IndexDoc], workers: int) -> tuple[float, float]:
    """Wall and CPU seconds `FtsIndex.rebuild` (what `zhifa search reindex` runs) takes for `docs`."""
    index = FtsIndex(path, Analyzer())
    started, cpu = time.perf_counter(), _cpu()
    index.rebuild(iter(docs), workers=workers)
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    index.close()
    return seconds, cpu


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    qs = statistics.quantiles(samples, n=100, method="inclusive")
    return qs[49], qs[94], qs[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    rng = random.Random(6)
    docs = [make_decision(rng, n) for n in range(1, args.count + 1)]
    chars = sum(len(d.body) for d in docs) / len(docs)
    work = args.dir or Path(tempfile.mkdtemp(prefix="zhifa-bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    path = work / "index.sqlite3"
    path.unlink(missing_ok=True)
    print(f"{args.count} decisions, {chars:.0f} characters of text on average; index at {path}")
    load = os.getloadavg()[0]
    seconds, cpu = build(path, docs, args.workers)
    print(f"indexing: {seconds:.1f} s, {args.count / seconds:,.0f} decisions/s ({args.workers} segmentation processes); "
          f"{cpu:.1f} CPU s, {cpu / args.count * 1e6:.0f} CPU µs per decision ({os.cpu_count()} cores, "
          f"load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)")
    print(f"index size: {path.stat().st_size / 2**20:.0f} MB")

    index = FtsIndex(path, Analyzer())
    index.analyzer.warm()                 # jieba's dictionary loads once per process, not per query
    words = ["罚款", "许可", "食品", "安全生产", "广告", "消防", "排污", "餐饮", "罚", "证", "变更登记", "保质期",
             "特种设备", "明码标价", "现场核查", "铁东区", "海城", "行政复议", "从轻处罚", "道路运输"]
    today = date(2026, 1, 1)
    sets = {
        "1 term": [[rng.choice(words)] for _ in range(args.queries)],
        "2 terms": [rng.sample(words, 2) for _ in range(args.queries)],
        "4 terms": [rng.sample(words, 4) for _ in range(args.queries)],
        "1 term + kind + date range": [[rng.choice(words)] for _ in range(args.queries)],
    }
    # The baseline: the same rows in a plain table, scanned with LIKE (count + newest 20).
    like = sqlite3.connect(work / "plain.sqlite3")
    like.execute("DROP TABLE IF EXISTS plain")
    like.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, number TEXT, kind TEXT, title TEXT, agency TEXT, "
                 "party TEXT, decided_on TEXT, until TEXT, body TEXT)")
    like.executemany("INSERT INTO plain (number, kind, title, agency, party, decided_on, until, body) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     ((d.number, d.kind, d.title, d.agency, d.party, d.decided_on.isoformat(),
                       d.publish_until.isoformat(), d.body) for d in docs))
    like.commit()
    print(f"\n{'query':<28}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'LIKE p50':>10}{'LIKE p95':>10}{'LIKE p99':>10}"
          f"{'LIKE/FTS p95':>14}{'estimated':>11}{'same total':>12}")
    for label, queries in sets.items():
        fts_ms, like_ms, estimated, same, exact = [], [], 0, 0, 0
        for terms in queries:
            filtered = "kind" in label
            q = SearchQuery(parse_terms(" ".join(terms)), today=today,
                            kind="penalty" if filtered else None,
                            date_from=date(2024, 1, 1) if filtered else None,
                            date_to=date(2024, 12, 31) if filtered else None)
            t = time.perf_counter()
            result = index.search(q)
            fts_ms.append((time.perf_counter() - t) * 1000)
            where = " AND ".join(["(title || party || number || agency || body) LIKE ?"] * len(terms))
            params = [f"%{w}%" for w in terms]
            if filtered:
                where += " AND kind = 'penalty' AND decided_on BETWEEN '2024-01-01' AND '2024-12-31'"
            t = time.perf_counter()
            count = like.execute(f"SELECT count(*) FROM plain WHERE {where} AND until >= ?",
                                 [*params, today.isoformat()]).fetchone()[0]
            like.execute(f"SELECT number, title, body FROM plain WHERE {where} AND until >= ? "
                         "ORDER BY decided_on DESC LIMIT 20", [*params, today.isoformat()]).fetchall()
            like_ms.append((time.perf_counter() - t) * 1000)
            estimated += result.total_approximate or result.facets_approximate
            if not result.total_approximate:
                exact += 1
                same += result.total == count
        p50, p95, p99 = percentiles(fts_ms)
        l50, l95, l99 = percentiles(like_ms)
        print(f"{label:<28}{p50:>8.1f}{p95:>8.1f}{p99:>8.1f}{l50:>10.1f}{l95:>10.1f}{l99:>10.1f}{l95 / p95:>13.1f}x"
              f"{estimated / len(queries):>10.0%}{same:>7}/{exact:<4}")
    print("\nestimated: answers whose facet counts (or, with filters, total) are sampled estimates, labelled 约;"
          "\nsame total: exact totals equal to the LIKE count of the same query")


if __name__ == "__main__":
    main()
