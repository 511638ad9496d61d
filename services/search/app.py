"""The search service's app factory: the only place that wires things."""
from __future__ import annotations

from flask import Flask, current_app, request

from services.search import runtime
from services.search.api import bp
from services.search.openapi import build_spec
from services.search.pages import bp as pages_bp
from services.search import publisher_pages
from shared import config, ratelimit
from shared.config import Settings
from shared.problems import not_found
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
    if settings.search_role == "public":
        public_only(app)
    else:
        publisher_pages.install(app, settings)      # publishers' pending list (/publisher/)
    # Public endpoints, per client: searching and reading, and the verification page.
    for endpoint in ("search.search_decisions", "search.export", "pages.home"):
        ratelimit.limit(app, endpoint, settings.search_rate_limit)
    ratelimit.limit(app, "pages.verify_page", settings.verify_rate_limit)
    return app


# What an internet-facing process keeps of the endpoints that need a token: operations' own.
_OPERATIONS = {"metrics"}


def public_only(app: Flask) -> None:
    """ZHIFA_SEARCH_ROLE=public: the process citizens reach serves their pages and API only.
    Publishing, withdrawal, previews, the pending list and the audit log answer 404 there (they
    live in a process of role "all" on the internal network, on the same database and data
    directory), and no preparing processes start: the publishers' work never shares this
    process's interpreter with the searches."""
    @app.before_request
    def _refuse_publishing():
        view = current_app.view_functions.get(request.endpoint)
        if getattr(view, "zhifa_roles", None) and request.endpoint not in _OPERATIONS:
            raise not_found(f"地址 {request.path} ")
