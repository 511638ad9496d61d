"""Generator benchmark: prints figures, not assertions.

Measures, in one run on this machine:
  1. DOCX alone: documents/second through the product path (validate, rules,
     deadlines, number, render, store, register), SQLite in a temp dir;
  2. DOCX+PDF with the warm LibreOffice pool: documents/second, and p50/p95
     latency of one PDF document;
  3. the baseline, the way a user would do it without zhifa: docxtpl render
     plus a cold `soffice --convert-to pdf` per document;
and prints the ratio of (2) to (3).

  4. optionally (--database-url postgresql+psycopg://...), DOCX+PDF from two
     concurrent clients issuing two kinds of document, which is where the
     pool's second LibreOffice helps (SQLite serialises all writers).

Usage: .venv/bin/python bench/generator.py [--docx N] [--pdf N] [--baseline N] [--type TYPE]
                                           [--database-url URL]
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared import config  # noqa: E402


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docx", type=int, default=200, help="documents for the DOCX-only run")
    parser.add_argument("--pdf", type=int, default=40, help="documents for the DOCX+PDF run")
    parser.add_argument("--baseline", type=int, default=10, help="documents for the soffice-per-document baseline")
    parser.add_argument("--type", default="penalty_decision")
    parser.add_argument("--database-url", help="also measure 2 concurrent clients on this (PostgreSQL) database")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="zhifa-bench-"))
    os.environ.update(ZHIFA_DATA_DIR=str(workdir / "var"), ZHIFA_API_KEYS="bench=case-system")
    os.environ.pop("ZHIFA_REDIS_URL", None)
    os.environ.pop("ZHIFA_GENERATOR_DATABASE_URL", None)
    from docxtpl import DocxTemplate

    from services.generator import runtime
    from services.generator.pdf import convert_with_soffice_cli
    from shared.fonts import install_fonts

    settings = config.load()
    rt = runtime.build(settings)
    docs = rt.documents
    doc_type = docs.catalogue.get(args.type)
    data = copy.deepcopy(doc_type.example)
    data["issued_on"] = "2026-06-01"

    def issue(formats: tuple[str, ...]) -> float:
        started = time.perf_counter()
        prepared = docs.prepare({"type": args.type, "data": data, "formats": list(formats)})
        docs.issue(prepared, "bench")
        return time.perf_counter() - started

    print(f"zhifa generator benchmark — {args.type} ({doc_type.title}), {os.cpu_count()} cores, "
          f"pool size {settings.soffice_pool_size}")

    issue(("docx",))   # warm imports and the database
    started = time.perf_counter()
    docx_lat = [issue(("docx",)) for _ in range(args.docx)]
    docx_rate = args.docx / (time.perf_counter() - started)
    print(f"DOCX only:            {docx_rate:7.1f} docs/s   (n={args.docx}, p50 {statistics.median(docx_lat)*1000:.0f} ms)")

    rt.pdf.pool()
    issue(("docx", "pdf"))   # starts LibreOffice; not counted
    started = time.perf_counter()
    pdf_lat = [issue(("docx", "pdf")) for _ in range(args.pdf)]
    pdf_rate = args.pdf / (time.perf_counter() - started)
    print(f"DOCX+PDF, warm pool:  {pdf_rate:7.2f} docs/s   (n={args.pdf}, one document p50 "
          f"{percentile(pdf_lat, 50)*1000:.0f} ms, p95 {percentile(pdf_lat, 95)*1000:.0f} ms)")

    # Baseline: what a clerk's script would do without zhifa.
    fonts_conf = install_fonts(settings.fonts_dir)
    context = {**data, "number": "鞍审批罚决字〔2026〕第1号", "issued_on": "2026年6月1日", "doc_title": doc_type.title,
               "deadlines": {k: "2026年6月16日" for k in doc_type.deadlines}, "remedy_clause": "（救济途径）",
               "verification_code": "ABCDEFGH", "verify_url": "https://example", "verify_qr": "",
               "agency": rt.documents.agency.for_document(None, doc_type.seal)}
    base_lat = []
    started = time.perf_counter()
    for i in range(args.baseline):
        t0 = time.perf_counter()
        tpl = DocxTemplate(str(doc_type.template_path))
        tpl.render(context)
        out = workdir / f"baseline-{i}.docx"
        tpl.save(str(out))
        convert_with_soffice_cli(out.read_bytes(), fonts_conf, workdir / "baseline")
        base_lat.append(time.perf_counter() - t0)
    base_rate = args.baseline / (time.perf_counter() - started)
    print(f"baseline (docxtpl + soffice --convert-to pdf per document): {base_rate:5.2f} docs/s   "
          f"(n={args.baseline}, p50 {percentile(base_lat, 50)*1000:.0f} ms, p95 {percentile(base_lat, 95)*1000:.0f} ms)")
    print(f"ratio DOCX+PDF warm pool / baseline: {pdf_rate / base_rate:.1f}x throughput, "
          f"p50 latency {percentile(base_lat, 50) / percentile(pdf_lat, 50):.1f}x lower")
    rt.close()
    if args.database_url:
        concurrent(args, settings)
    return 0


def concurrent(args, settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from services.generator import runtime
    os.environ["ZHIFA_GENERATOR_DATABASE_URL"] = args.database_url
    rt = runtime.build(config.load())
    docs = rt.documents
    kinds = [args.type, "rectification_order"]
    bodies = [{"type": t, "data": dict(docs.catalogue.get(t).example, issued_on="2026-06-01"),
               "formats": ["docx", "pdf"]} for t in kinds]

    def issue(i: int) -> None:
        docs.issue(docs.prepare(bodies[i % 2]), "bench")

    for member in rt.pdf.pool().members:
        member.ensure_running()
    issue(0), issue(1)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(issue, range(args.pdf)))
    rate = args.pdf / (time.perf_counter() - started)
    print(f"DOCX+PDF, 2 clients, 2 kinds, PostgreSQL: {rate:5.2f} docs/s   (n={args.pdf})")
    rt.close()


if __name__ == "__main__":
    sys.exit(main())
