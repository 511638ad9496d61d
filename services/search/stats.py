"""Statistics of published decisions (plan item 3: the annual publication
report): decisions per month by kind, the year's totals, an SVG chart and CSV.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from html import escape

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session, sessionmaker

from services.search.index import KINDS
from services.search.spreadsheets import csv_text
from services.search.models import EXPIRED, PUBLISHED, WITHDRAWN, Decision
from shared.db import reading

MONTHS = [f"{m}月" for m in range(1, 13)]
COLORS = {"license": "#1f5f99", "penalty": "#b3261e", "other": "#5f6b2e"}   # ≥ 4.5:1 on white


@dataclass
class YearReport:
    year: int
    monthly: dict[str, list[int]]                            # kind → 12 counts (by decision month)
    by_status: dict[str, int] = field(default_factory=dict)  # published / withdrawn / expired
    fines_wan: float = 0.0                                   # 罚款金额 of the year's penalties, 万元
    withdrawn_reasons: list[dict] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        return {k: sum(v) for k, v in self.monthly.items()}

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def as_dict(self) -> dict:
        return {"year": self.year, "total": self.total, "by_kind": self.totals,
                "monthly": {k: dict(zip(range(1, 13), v)) for k, v in self.monthly.items()},
                "by_status": self.by_status, "fines_wan": round(self.fines_wan, 6),
                "withdrawn": self.withdrawn_reasons}


class Statistics:
    def __init__(self, sessions: sessionmaker[Session]):
        self.sessions = sessions

    def years(self) -> list[int]:
        with reading(self.sessions) as session:
            rows = session.execute(select(extract("year", Decision.decided_on)).distinct()).scalars()
            return sorted({int(y) for y in rows}, reverse=True)

    def year(self, year: int) -> YearReport:
        start, end = date(year, 1, 1), date(year, 12, 31)
        in_year = (Decision.decided_on >= start, Decision.decided_on <= end)
        monthly = {k: [0] * 12 for k in KINDS}
        with reading(self.sessions) as session:
            for kind, month, n in session.execute(
                    select(Decision.kind, extract("month", Decision.decided_on), func.count())
                    .where(*in_year).group_by(Decision.kind, extract("month", Decision.decided_on))):
                monthly.setdefault(kind, [0] * 12)[int(month) - 1] = n
            by_status = dict(session.execute(select(Decision.status, func.count()).where(*in_year)
                                             .group_by(Decision.status)).all())
            fines = sum(float(d.get("罚款金额（万元）") or 0) for d in session.scalars(
                select(Decision.disclosure).where(*in_year, Decision.kind == "penalty")))
            withdrawn = [{"number": n, "reason": r} for n, r in session.execute(
                select(Decision.number, Decision.status_reason).where(*in_year, Decision.status == WITHDRAWN)
                .order_by(Decision.number))]
        return YearReport(year, monthly, {s: by_status.get(s, 0) for s in (PUBLISHED, WITHDRAWN, EXPIRED)},
                          fines, withdrawn)


def monthly_csv(report: YearReport) -> str:
    rows = [[f"{report.year}年{month}", *(report.monthly[k][i] for k in report.monthly),
             sum(report.monthly[k][i] for k in report.monthly)] for i, month in enumerate(MONTHS)]
    rows.append(["全年合计", *report.totals.values(), report.total])
    return csv_text(["月份", *(KINDS[k] for k in report.monthly), "合计"], rows)


def svg_chart(report: YearReport, narrow: bool = False) -> str:
    """Stacked columns per month, one colour per kind, with a legend and a
    <title>/<desc> for screen readers; numbers are also in the table beside it.
    `narrow` draws it for a phone's width (drawn at that size, so its text stays
    as large as the page's small print instead of being scaled down to 5 px)."""
    width, height = (360, 240) if narrow else (720, 300)
    left, right, top, bottom = (30, 6, 34, 28) if narrow else (40, 10, 30, 40)
    legend_step, suffix = (112, "n") if narrow else (150, "w")
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([sum(report.monthly[k][i] for k in report.monthly) for i in range(12)] + [1])
    step = plot_w / 12
    bar = step * 0.6
    title, desc = f"chart-title-{suffix}", f"chart-desc-{suffix}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-labelledby="{title} {desc}" class="chart chart-{"narrow" if narrow else "wide"}">',
             f'<title id="{title}">{report.year}年各月公示决定数量</title>',
             f'<desc id="{desc}">{escape(_describe(report))}</desc>']
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#999" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{round(peak * frac)}</text>')
    for i, month in enumerate(MONTHS):
        x, base = left + i * step + (step - bar) / 2, top + plot_h
        for kind, counts in report.monthly.items():
            if counts[i]:
                h = plot_h * counts[i] / peak
                base -= h
                parts.append(f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{COLORS.get(kind, "#444")}"><title>{month}{KINDS.get(kind, kind)}：{counts[i]}</title></rect>')
        label = str(i + 1) if narrow else month
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11">{label}</text>')
    for j, kind in enumerate(report.monthly):
        x = left + j * legend_step
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{COLORS.get(kind, "#444")}"/>')
        parts.append(f'<text x="{x + 16}" y="16" font-size="{11 if narrow else 12}">{KINDS.get(kind, kind)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _describe(report: YearReport) -> str:
    return f"{report.year}年共公示 {report.total} 件：" + "，".join(
        f"{KINDS.get(k, k)} {n} 件" for k, n in report.totals.items()) + "。"
