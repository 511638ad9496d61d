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
from shared.uploads import MAX_FORM_FIELD_BYTES, MAX_PARTS
from shared.web import (body_limit, create_base_app, edge_check, observe_jobs, readiness_of,
                        signed_session_check)


UPLOAD_FORM_OVERHEAD = MAX_PARTS * MAX_FORM_FIELD_BYTES    # the non-file fields an upload form may carry


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    rt = runtime.build(settings)
    # Uploads (evidence, copies to verify) may be large; JSON bodies keep their own limit,
    # each uploaded part its own (max_upload_bytes), a copy to verify verify's (a sealed
    # file can be larger than any upload).
    app = create_base_app(runtime.SERVICE, settings, build_spec(),
                          readiness=readiness_of(rt.engine, rt.jobs, rt.blobs),
                          max_body_bytes=max_verify_bytes(settings.max_upload_bytes))
    app.extensions["zhifa.runtime"] = rt
    observe_jobs(app, rt.jobs)
    app.register_blueprint(bp)
    install_pages(app, settings)
    app.register_blueprint(pages_bp)
    ratelimit.limit(app, "archive.verify", settings.verify_rate_limit)   # public: per client
    ratelimit.limit(app, "pages.login", settings.login_rate_limit, methods=["POST"])   # token guessing
    # What the server refuses from a request's head, before reading an upload: past the upload limit
    # (plus the form's other fields), or to the upload page without a signed-in session.
    for endpoint in ("archive.add_item", "pages.add_upload"):
        body_limit(app, endpoint, settings.max_upload_bytes + UPLOAD_FORM_OVERHEAD)
    edge_check(app, "pages.add_upload", signed_session_check(app))
    rt.resume()
    return app
