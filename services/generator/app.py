"""The generator service's app factory: the only place that wires things."""
from __future__ import annotations

from flask import Flask

from services.generator import runtime
from services.generator.api import bp
from services.generator.openapi import build_spec
from shared import config, ratelimit
from shared.config import Settings
from shared.web import create_base_app, observe_jobs, readiness_of


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    rt = runtime.build(settings)
    app = create_base_app(runtime.SERVICE, settings, build_spec(rt.documents.catalogue),
                          readiness={**readiness_of(rt.engine, rt.jobs, rt.documents.blobs), "libreoffice": rt.pdf.check})
    app.extensions["zhifa.runtime"] = rt
    observe_jobs(app, rt.jobs)
    rt.metrics.register(app.extensions["zhifa.metrics"])
    app.register_blueprint(bp)
    ratelimit.limit(app, "generator.verify", settings.verify_rate_limit)   # public: per client
    rt.resume()
    return app
