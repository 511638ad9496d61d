"""Pages for publishers (no JavaScript): sign in with a publisher's token, see
the decisions pending publication and the overdue ones, publish one from its
generator document, or record why it is not published.

Sessions as the archive keeps its archivists' (services/archive/pages.py):
server-side rows (publisher_sessions), an HttpOnly SameSite=Strict cookie
with a random id and the CSRF token, checked on every request against the
current key list, so logout and a revoked token end it at once. HTTP only:
the domain is the API's (pending.py, decisions.py).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import (Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from services.search.models import PublisherSession
from shared.auth import ApiKeys, Principal
from shared.config import Settings
from shared.db import as_utc, reading, transaction
from shared.files import write_file
from shared.problems import Problem

bp = Blueprint("publisher", __name__, url_prefix="/publisher", template_folder="templates")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
SESSION_HOURS = 8
PAGE_ROLES = ("publisher", "admin")
STATUS_NAMES = {"pending": "待公示", "overdue": "已逾期", "published": "已公示", "withheld": "不予公示"}
KIND_NAMES = {"license": "行政许可", "penalty": "行政处罚", "other": "其他"}


def install(app: Flask, settings: Settings) -> None:
    """Session secret (kept in the data dir, 0600) and cookie settings."""
    key_file = settings.service_dir("search") / "session.key"
    if not key_file.exists():
        write_file(key_file, secrets.token_hex(32), mode=0o600)
    app.secret_key = key_file.read_text().strip()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_SECURE=settings.search_url.startswith("https://"),
                      SESSION_COOKIE_NAME="zhifa_publisher", SESSION_COOKIE_PATH="/publisher")
    app.register_blueprint(bp)


@bp.after_request
def _headers(resp):
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


@bp.app_context_processor
def _globals() -> dict:
    return {"csrf_token": _csrf_token, "STATUS_NAMES": STATUS_NAMES, "KIND_NAMES": KIND_NAMES}


def _rt():
    return current_app.extensions["zhifa.runtime"]


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _token_digest(token: str) -> str:
    return hmac.new(current_app.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _open_session(token: str) -> str:
    sid, now = secrets.token_urlsafe(32), datetime.now(timezone.utc)
    with transaction(_rt().sessions) as db:
        db.add(PublisherSession(id_hash=_id_hash(sid), token_digest=_token_digest(token), created_at=now,
                                expires_at=now + timedelta(hours=SESSION_HOURS)))
    return sid


def _end_session(sid) -> None:
    if not isinstance(sid, str) or not sid:
        return
    with transaction(_rt().sessions) as db:
        row = db.get(PublisherSession, _id_hash(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = datetime.now(timezone.utc)


def _current_principal() -> Principal | None:
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    with reading(_rt().sessions) as db:
        row = db.get(PublisherSession, _id_hash(sid))
    if row is None or row.ended_at is not None or as_utc(row.expires_at) <= datetime.now(timezone.utc):
        return None
    keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
    found = keys.find(_token_digest, row.token_digest)
    return found if found is not None and found.role in PAGE_ROLES else None


def signed_in(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = _current_principal()
        if principal is None:
            _end_session(session.get("sid"))
            session.clear()
            if request.method != "GET":
                flash("登录已失效，请重新登录。", "error")
                return render_template("publisher/login.html"), 401
            return redirect(url_for("publisher.login"))
        if request.method == "POST" and not hmac.compare_digest(request.form.get("csrf", ""),
                                                                 session.get("csrf", "")):
            abort(400, "表单已过期，请刷新页面后重试。")
        g.actor = principal.actor
        return view(*args, **kwargs)
    return wrapper


def _flash_problem(problem: Problem) -> None:
    flash(f"{problem.title}：{problem.detail or ''}", "error")
    for error in problem.errors:
        flash(f"{error.path}：{error.message}", "error")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        if not hmac.compare_digest(request.form.get("csrf", ""), session.get("csrf", "")):
            abort(400, "表单已过期，请刷新页面后重试。")
        keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
        token = request.form.get("token", "").strip()
        try:
            keys.authenticate(f"Bearer {token}", ("publisher",))
        except Problem:
            flash("令牌无效，或不是公示员的令牌。", "error")
            return render_template("publisher/login.html"), 401
        _end_session(session.get("sid"))
        session.clear()
        session["sid"] = _open_session(token)
        session["csrf"] = secrets.token_urlsafe(32)
        return redirect(url_for("publisher.pending"))
    return render_template("publisher/login.html")


@bp.post("/logout")
@signed_in
def logout():
    _end_session(session.get("sid"))
    session.clear()
    return redirect(url_for("publisher.login"))


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
        _flash_problem(problem)
    return redirect(url_for("publisher.pending"))


@bp.post("/<document_id>/withhold")
@signed_in
def withhold(document_id: str):
    try:
        entry = _rt().pending.withhold(document_id, request.form.get("reason", ""), g.actor)
        flash(f"已登记不予公示：{entry.row.number}。", "ok")
    except Problem as problem:
        _flash_problem(problem)
    return redirect(url_for("publisher.pending"))
