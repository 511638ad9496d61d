"""The search service's app factory: the only place that wires things."""
from __future__ import annotations

from flask import Flask

from services.search import runtime
from services.search.api import bp
from services.search.openapi import build_spec
from services.search.pages import bp as pages_bp
from shared import config, ratelimit
from shared.config import Settings
from shared.web import create_base_app, observe_jobs, readiness_of


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or config.load()
    rt = runtime.build(settings)
    app = create_base_app(runtime.SERVICE, settings, build_spec(),
                          readiness={**readiness_of(rt.engine, rt.jobs),
                                     "elasticsearch" if settings.elasticsearch_url else "index": rt.index.ping})
    app.extensions["zhifa.runtime"] = rt
    observe_jobs(app, rt.jobs)
    app.register_blueprint(bp)
    app.register_blueprint(pages_bp)
    # Public endpoints, per client: searching and reading, and the verification page.
    for endpoint in ("search.search_decisions", "search.export", "pages.home"):
        ratelimit.limit(app, endpoint, settings.search_rate_limit)
    ratelimit.limit(app, "pages.verify_page", settings.verify_rate_limit)
    return app
