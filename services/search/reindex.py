"""Rebuild the search index from the database (`zhifa search reindex`):
the new index is filled beside the live one and replaces it at once."""
from __future__ import annotations

import os
from typing import Callable

from services.search.decisions import index_doc


def rebuild(rt, progress: Callable[[int], None] | None = None, workers: int = 1) -> int:
    """`workers` processes segment the text for the embedded index (jieba is its cost)."""
    docs = (index_doc(d) for d in rt.decisions.public_decisions())
    return rt.index.rebuild(docs, progress, workers=workers)


def public_count(rt) -> int:
    from sqlalchemy import func, select

    from services.search.models import PUBLISHED, Decision
    from shared.db import reading
    with reading(rt.sessions) as session:
        return session.scalar(select(func.count()).select_from(Decision).where(
            Decision.status == PUBLISHED, Decision.publish_until >= rt.decisions.today())) or 0


def cli(action: str) -> int:
    """`zhifa search reindex|sweep`: rebuild the index with a progress bar, or run the expiry sweep now."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from services.search import runtime
    from shared import config
    rt = runtime.build(config.load())
    try:
        if action == "sweep":
            taken = rt.decisions.sweep_expired()
            print(f"{len(taken)} decision(s) past their publication period taken down")
            return 0
        total = public_count(rt)
        columns = (TextColumn("reindex"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns) as bar:
            task = bar.add_task("reindex", total=total)
            count = rebuild(rt, lambda n: bar.advance(task, n), workers=os.cpu_count() or 1)
        print(f"{count} decision(s) indexed into {rt.index.name}")
        return 0
    finally:
        rt.close()
