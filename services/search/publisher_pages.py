"""Pages for publishers (no JavaScript): sign in with a publisher's token, see
the decisions pending publication and the overdue ones, publish one from its
generator document, or record why it is not published.

Sessions as the archive keeps its archivists' (shared/page_sessions.py, rows in
publisher_sessions). HTTP only: the domain is the API's (pending.py, decisions.py).
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, flash, g, redirect, render_template, request, url_for

from services.search.models import PublisherSession
from shared.config import Settings
from shared.page_sessions import PageSessions, csrf_token, flash_problem, install_secret, secure_headers
from shared.problems import Problem

bp = Blueprint("publisher", __name__, url_prefix="/publisher", template_folder="templates")
secure_headers(bp, "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                   "frame-ancestors 'none'; base-uri 'none'")

STATUS_NAMES = {"pending": "待公示", "overdue": "已逾期", "published": "已公示", "withheld": "不予公示"}
KIND_NAMES = {"license": "行政许可", "penalty": "行政处罚", "other": "其他"}
PAGES = PageSessions(PublisherSession, lambda: _rt().sessions, sign_in_role="publisher",
                     login_endpoint="publisher.login", login_template="publisher/login.html",
                     refused_message="令牌无效，或不是公示员的令牌。")
signed_in = PAGES.signed_in


def install(app: Flask, settings: Settings) -> None:
    install_secret(app, settings.service_dir("search") / "session.key", cookie_name="zhifa_publisher",
                   secure=settings.search_url.startswith("https://"), cookie_path="/publisher")
    app.register_blueprint(bp)


@bp.app_context_processor
def _globals() -> dict:
    return {"csrf_token": csrf_token, "STATUS_NAMES": STATUS_NAMES, "KIND_NAMES": KIND_NAMES}


def _rt():
    return current_app.extensions["zhifa.runtime"]


@bp.route("/login", methods=["GET", "POST"])
def login():
    return PAGES.login("publisher.pending")


@bp.post("/logout")
@signed_in
def logout():
    return PAGES.logout()


@bp.get("/")
@signed_in
def pending():
    status = request.args.get("status", "pending")
    if status not in STATUS_NAMES:
        status = "pending"
    total, entries = _rt().pending.list(status, 0, 200)
    overdue = _rt().pending.list("overdue", 0, 1)[0]
    return render_template("publisher/pending.html", status=status, total=total, entries=entries, overdue=overdue)


@bp.post("/<document_id>/publish")
@signed_in
def publish(document_id: str):
    rt = _rt()
    try:
        entry = rt.pending.require_publishable(document_id)
        decision, _ = rt.decisions.publish(rt.decisions.prepare({"document_id": document_id}), g.actor)
        flash(f"已公示：{entry.row.title} {decision.number}（公示至 {decision.publish_until}）。", "ok")
    except Problem as problem:
        flash_problem(problem)
    return redirect(url_for("publisher.pending"))


@bp.post("/<document_id>/withhold")
@signed_in
def withhold(document_id: str):
    try:
        entry = _rt().pending.withhold(document_id, request.form.get("reason", ""), g.actor)
        flash(f"已登记不予公示：{entry.row.number}。", "ok")
    except Problem as problem:
        flash_problem(problem)
    return redirect(url_for("publisher.pending"))
