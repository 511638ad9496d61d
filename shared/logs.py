"""Logging set-up shared by every command: one line per record, with the
request id of the HTTP request being served ("-" outside a request).

The request id lives in a context variable (set by shared.web per request),
so this module and the code that logs know nothing of Flask.
"""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

request_id: ContextVar[str] = ContextVar("zhifa_request_id", default="-")

# Libraries that narrate routine work at INFO (a line per font table subset,
# a line per bridge set-up): only their warnings reach the log.
CHATTY_LIBRARIES = ("fontTools", "pikepdf", "fpdf")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record the handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


def setup(level: str = "INFO") -> None:
    """Configure the root logger once per process (calling it again replaces the handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_zhifa", False)]:
        root.removeHandler(old)
    handler._zhifa = True   # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
