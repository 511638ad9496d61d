"""Rebuild the search index from the database (`zhifa search reindex`):
the new index is filled beside the live one and replaces it at once."""
from __future__ import annotations

from typing import Callable

from services.search.decisions import index_doc


def rebuild(rt, progress: Callable[[int], None] | None = None) -> int:
    docs = (index_doc(d) for d in rt.decisions.public_decisions())
    return rt.index.rebuild(docs, progress)


def public_count(rt) -> int:
    from sqlalchemy import func, select

    from services.search.models import PUBLISHED, Decision
    from shared.db import reading
    with reading(rt.sessions) as session:
        return session.scalar(select(func.count()).select_from(Decision).where(
            Decision.status == PUBLISHED, Decision.publish_until >= rt.decisions.today())) or 0
