"""Logging set-up shared by every command: one JSON object per line
(ZHIFA_LOG_FORMAT=json, the default; `text` for a terminal), with the request
id of the HTTP request being served, or of the request that enqueued the job
being run ("-" outside either). The id follows a request across services:
shared.http forwards it as X-Request-ID, shared.jobs carries it into jobs.

The request id lives in a context variable (set by shared.web per request),
so this module and the code that logs know nothing of Flask.
"""
from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import datetime, timezone

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


class JsonFormatter(logging.Formatter):
    """{"time", "level", "logger", "request_id", "message"[, "exception"]}: one object a line,
    for a log collector to parse without guessing where a message ends."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", request_id.get()),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(level: str = "INFO", fmt: str = "json") -> None:
    """Configure the root logger once per process (calling it again replaces the handler).
    `fmt`: "json" (one object a line) or "text"."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT) if fmt == "text" else JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_zhifa", False)]:
        root.removeHandler(old)
    handler._zhifa = True   # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
