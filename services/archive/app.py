"""The archive service's app factory: the only place that wires things."""
from __future__ import annotations

from flask import Flask

from services.archive import runtime
from services.archive.api import bp
from services.archive.openapi import build_spec
from services.archive.pages import pages_bp, install_pages
from services.archive.verification import max_verify_bytes
from shared import config, ratelimit
from shared.config import Settings
from shared.db import ping
from shared.web import create_base_app


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    rt = runtime.build(settings)
    # Uploads (evidence, copies to verify) may be large; JSON bodies keep their own limit,
    # each uploaded part its own (max_upload_bytes), a copy to verify verify's (a sealed
    # file can be larger than any upload).
    app = create_base_app(runtime.SERVICE, settings, build_spec(),
                          readiness={"database": lambda: ping(rt.engine), "jobs": rt.jobs.ping},
                          max_body_bytes=max_verify_bytes(settings.max_upload_bytes))
    app.extensions["zhifa.runtime"] = rt
    app.register_blueprint(bp)
    install_pages(app, settings)
    app.register_blueprint(pages_bp)
    ratelimit.limit(app, "archive.verify", settings.verify_rate_limit)   # public: per client
    rt.resume()
    return app
