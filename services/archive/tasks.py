"""RQ job functions of the archive (also run inline when no Redis is set).

Enqueued by dotted path ("services.archive.tasks.seal_case_file"), so the
modules that enqueue never import this one.
"""
from __future__ import annotations

from services.archive import runtime


def seal_case_file(case_file_id: str) -> None:
    runtime.current().seals.run(case_file_id)


def seal_given_up(case_file_id: str, reason: str) -> None:
    """The outbox gave up (the job kept dying): reopen the file with the reason, never "sealing" for ever."""
    runtime.current().seals.give_up(case_file_id, reason)
