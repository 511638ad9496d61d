"""The search index from the database, its source of truth: a full rebuild
(`zhifa search reindex`; the new index is filled beside the live one and
replaces it at once), and the database's current version of given decisions
(what the embedded index writes at each commit)."""
from __future__ import annotations

import os
from typing import Callable, Iterator

from sqlalchemy import func, select

from services.search.decisions import DecisionService, index_doc
from services.search.index import IndexDoc
from services.search.models import PUBLISHED, Decision
from shared.db import reading

LOAD_CHUNK = 500


def public_docs(decisions: DecisionService) -> Iterator[IndexDoc]:
    return (index_doc(d) for d in decisions.public_decisions())


def count_public(decisions: DecisionService) -> int:
    with reading(decisions.sessions) as session:
        return session.scalar(select(func.count()).select_from(Decision).where(
            Decision.status == PUBLISHED, Decision.publish_until >= decisions.today())) or 0


def loader(decisions: DecisionService) -> Callable[[list[str]], dict[str, IndexDoc]]:
    """numbers → the public ones among them as the database has them now (absent: take out)."""
    def load(numbers: list[str]) -> dict[str, IndexDoc]:
        found: dict[str, IndexDoc] = {}
        with reading(decisions.sessions) as session:
            for at in range(0, len(numbers), LOAD_CHUNK):
                for d in session.scalars(select(Decision).where(
                        Decision.number.in_(numbers[at:at + LOAD_CHUNK]), Decision.status == PUBLISHED,
                        Decision.publish_until >= decisions.today())):
                    found[d.number] = index_doc(d)
        return found
    return load


def rebuild(rt, progress: Callable[[int], None] | None = None, workers: int = 1) -> int:
    """`workers` processes segment the text for the embedded index (jieba is its cost)."""
    return rt.index.rebuild(public_docs(rt.decisions), progress, workers=workers)


def public_count(rt) -> int:
    return count_public(rt.decisions)


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
