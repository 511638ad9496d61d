"""render_docx alone: milliseconds per document, against plain docxtpl in the same run.

Prints, for one document type with its example data and the context the
generator builds around it (see documents.py): ms per document, p50 and p95 of
  1. render_docx (template loaded once, then reused);
  2. the baseline, `DocxTemplate(...).render(); save()` per document with the
     same context and QR image (the QR code drawn by qr_png in both);
and the speed-up. Run it on a quiet machine: it measures one thread.

Usage: .venv/bin/python bench/render.py [--n N] [--type TYPE] [--profile]
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docx.shared import Mm  # noqa: E402
from docxtpl import DocxTemplate, InlineImage  # noqa: E402

from services.generator.rendering import JINJA_ENV, printable, qr_png, render_docx, verify_url  # noqa: E402

TEMPLATES = Path(__file__).resolve().parents[1] / "services" / "generator" / "templates"
AGENCY = Path(__file__).resolve().parents[1] / "services" / "generator" / "data" / "agency.demo.json"


def context_for(doc_type: str, seq: int) -> tuple[dict, str]:
    """What DocumentService._issue_in hands to render_docx, and the QR URL."""
    entry = next(e for e in json.loads((TEMPLATES / "catalogue.json").read_text(encoding="utf-8"))
                 if e["type"] == doc_type)
    agency = json.loads(AGENCY.read_text(encoding="utf-8"))
    agency["seal_name"] = agency.pop("agency_seal")
    number = f"{agency['short_name']}{entry['number_kind']}〔2026〕第{seq}号"
    url = verify_url("https://zhifa.example.gov.cn", number, "7KQ2M9XA")
    context = printable(json.loads((TEMPLATES / f"{doc_type}.example.json").read_text(encoding="utf-8")))
    context.update(agency=agency, number=number, doc_title=entry["title"], issued_on="2026年11月16日",
                   remedy_clause="如不服本决定，可以在收到本决定书之日起六十日内申请行政复议。",
                   deadlines={rule: "2026年12月8日" for rule in entry["deadlines"]},
                   verification_code="7KQ2M9XA", verify_url=url,
                   verify_page="https://zhifa.example.gov.cn/verify", warning_only=False, registered_on="")
    return context, url


def docxtpl_render(template: Path, context: dict, url: str) -> bytes:
    tpl = DocxTemplate(str(template))
    tpl.render(dict(context, verify_qr=InlineImage(tpl, io.BytesIO(qr_png(url)), width=Mm(20))),
               jinja_env=JINJA_ENV, autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def timings(render, template: Path, doc_type: str, n: int) -> list[float]:
    inputs = [context_for(doc_type, seq) for seq in range(1, n + 1)]
    render(template, *inputs[0])          # warm: imports, template cache
    result = []
    for context, url in inputs:
        started = time.perf_counter()
        render(template, context, url)
        result.append((time.perf_counter() - started) * 1000)
    return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))]


def report(name: str, ms: list[float]) -> float:
    mean = statistics.fmean(ms)
    print(f"{name:<28} {mean:6.1f} ms/doc   p50 {percentile(ms, 50):6.1f}   p95 {percentile(ms, 95):6.1f}"
          f"   ({1000 / mean:5.0f} docs/s, n={len(ms)})")
    return percentile(ms, 50)    # compared by medians: other processes on the machine skew means


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--type", default="penalty_decision")
    parser.add_argument("--profile", action="store_true", help="print render_docx's cProfile top 25")
    args = parser.parse_args()
    template = TEMPLATES / f"{args.type}.docx"
    size = len(render_docx(template, *context_for(args.type, 1)))
    print(f"render_docx benchmark — {args.type}, template {template.stat().st_size // 1024} KB, "
          f"output {size // 1024} KB")
    ours = report("render_docx", timings(render_docx, template, args.type, args.n))
    theirs = report("docxtpl render()+save()", timings(docxtpl_render, template, args.type, max(50, args.n // 3)))
    qr = report("  of which qr_png", timings(lambda _t, _c, url: qr_png(url), template, args.type, args.n))
    print(f"speed-up (p50) {theirs / ours:.1f}x; render_docx without the QR code ~{ours - qr:.1f} ms (p50)")
    if args.profile:
        context, url = context_for(args.type, 1)
        profile = cProfile.Profile()
        profile.runcall(lambda: [render_docx(template, context, url) for _ in range(100)])
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
