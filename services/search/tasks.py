"""RQ job functions of the search service (also run inline when no Redis is set).

Enqueued by dotted path ("services.search.tasks.sweep_expired"), so the
modules that enqueue never import this one.
"""
from __future__ import annotations

import logging

from services.search import runtime

log = logging.getLogger("zhifa.search")


def sweep_expired() -> int:
    """Take down the decisions whose publication period ended (daily)."""
    numbers = runtime.current().decisions.sweep_expired()
    if numbers:
        log.info("publication period ended: %d decision(s) taken down", len(numbers))
    return len(numbers)


def reindex() -> int:
    """Rebuild the search index from the database."""
    from services.search.reindex import rebuild
    return rebuild(runtime.current())
