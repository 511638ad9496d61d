"""RQ job functions of the generator (also run inline when no Redis is set)."""
from __future__ import annotations

from services.generator import runtime


def issue_batch_item(batch_id: str, position: int) -> None:
    runtime.current().batches.run_item(batch_id, position)
