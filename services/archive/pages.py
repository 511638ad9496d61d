"""Server-rendered Chinese pages for archivists (no JavaScript): sign in with
the archivist's token, list case files, open one, add documents and
evidence, read the checks with their reasons, seal (with a reason when a
check failed), download the sealed PDF and the hand-over package.

Sessions are server-side (the page_sessions table): the HttpOnly,
SameSite=Strict cookie carries a random session id and the CSRF token, and
every request checks the row (not ended by logout, not expired) and that the
token it was opened with is still in the current key list, so logout and a
revoked token end it at once; the audit names the token as it is now.
Every form carries a
CSRF token; pages are served under a strict Content-Security-Policy
(styles from our own static file only). The HTTP layer only: the domain is
the same as the API's.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import (Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, send_file,
                   session, url_for)

from services.archive.checks import PROPERTY_NAMES
from services.archive.models import PageSession
from shared.auth import ApiKeys, Principal
from shared.config import Settings
from shared.db import as_utc, reading, transaction
from shared.files import write_file
from shared.problems import Problem
from shared.uploads import parse_upload

pages_bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                     static_url_path="/static/archive")

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
STATUS_NAMES = {"open": "未封存", "sealing": "封存中", "sealed": "已封存"}
SESSION_HOURS = 8        # a working day: then sign in again
PAGE_ROLES = ("archivist", "admin")
CATEGORY_NAMES = {"decision": "决定文书", "approval": "审批表", "notice": "通知及送达回证", "record": "笔录",
                  "identity": "身份证明", "documentary": "书证", "photo": "照片", "electronic": "电子数据、视听资料",
                  "discussion": "集体讨论记录", "execution": "执行材料"}


def install_pages(app: Flask, settings: Settings) -> None:
    """Session secret (kept in the data dir, 0600) and cookie settings."""
    key_file = settings.service_dir("archive") / "session.key"
    if not key_file.exists():
        write_file(key_file, secrets.token_hex(32), mode=0o600)
    app.secret_key = key_file.read_text().strip()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_SECURE=settings.archive_url.startswith("https://"),
                      SESSION_COOKIE_NAME="zhifa_archive")
    app.jinja_env.globals.update(STATUS_NAMES=STATUS_NAMES, CATEGORY_NAMES=CATEGORY_NAMES,
                                 PROPERTY_NAMES=PROPERTY_NAMES, csrf_token=_csrf_token)


@pages_bp.after_request
def _headers(resp):
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "no-referrer"
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


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
    with transaction(_rt().case_files.sessions) as db:
        db.add(PageSession(id_hash=_id_hash(sid), token_digest=_token_digest(token), created_at=now,
                           expires_at=now + timedelta(hours=SESSION_HOURS)))
    return sid


def _end_session(sid: str | None) -> None:
    if not sid:
        return
    with transaction(_rt().case_files.sessions) as db:
        row = db.get(PageSession, _id_hash(sid))
        if row is not None and row.ended_at is None:
            row.ended_at = datetime.now(timezone.utc)


def _current_principal() -> Principal | None:
    """Who this request's session belongs to, as the key list says now; None when the
    session ended, expired, or its token was removed or no longer has a page role."""
    sid = session.get("sid")
    if not isinstance(sid, str) or not sid:
        return None
    with reading(_rt().case_files.sessions) as db:
        row = db.get(PageSession, _id_hash(sid))
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
            _end_session(session.get("sid") if isinstance(session.get("sid"), str) else None)
            session.clear()
            if request.method != "GET":      # a write with a dead session is refused, not redirected into
                flash("登录已失效，请重新登录。", "error")
                return render_template("archive/login.html"), 401
            return redirect(url_for("pages.login"))
        if request.method == "POST":
            # Upload forms carry the token in their action URL: reading request.form would spool the file.
            given = request.args.get("csrf", "") if request.mimetype == "multipart/form-data" else request.form.get("csrf", "")
            if not hmac.compare_digest(given, session.get("csrf", "")):
                abort(400, "表单已过期，请刷新页面后重试。")
        g.actor = principal.actor
        return view(*args, **kwargs)
    return wrapper


def _flash_problem(problem: Problem) -> None:
    flash(f"{problem.title}：{problem.detail or ''}", "error")
    for error in problem.errors:
        flash(f"{error.path}：{error.message}", "error")


@pages_bp.get("/")
def home():
    return redirect(url_for("pages.case_files" if _current_principal() else "pages.login"))


@pages_bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "POST":
        if not hmac.compare_digest(request.form.get("csrf", ""), session.get("csrf", "")):
            abort(400, "表单已过期，请刷新页面后重试。")
        keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
        try:
            token = request.form.get("token", "").strip()
            keys.authenticate(f"Bearer {token}", ("archivist",))
        except Problem:
            flash("令牌无效，或不是档案管理员的令牌。", "error")
            return render_template("archive/login.html"), 401
        _end_session(session.get("sid") if isinstance(session.get("sid"), str) else None)
        session.clear()
        session["sid"] = _open_session(token)
        session["csrf"] = secrets.token_urlsafe(32)
        return redirect(url_for("pages.case_files"))
    return render_template("archive/login.html")


@pages_bp.post("/logout")
@signed_in
def logout():
    _end_session(session.get("sid"))
    session.clear()
    return redirect(url_for("pages.login"))


@pages_bp.get("/case-files")
@signed_in
def case_files():
    total, rows = _rt().case_files.list(0, 200)
    return render_template("archive/list.html", rows=rows, total=total, case_types=_rt().case_files.rules.case_types())


@pages_bp.post("/case-files")
@signed_in
def create_case_file():
    fields = ("archive_number", "fonds", "fonds_name", "title", "case_type", "case_number", "decision_number",
              "handling_unit", "filing_unit", "opened_on", "closed_on", "retention", "secrecy", "compiled_by",
              "checked_by")
    optional = ("case_number", "filing_unit", "secrecy", "compiled_by", "checked_by")
    body = {name: request.form.get(name, "").strip() for name in fields}
    body = {k: v for k, v in body.items() if v or k not in optional}
    party = {key: request.form.get(f"party_{key}", "").strip() for key in ("kind", "credit_code", "id_type", "id_number")}
    party["name"] = request.form.get("party", "").strip()
    body["party"] = {k: v for k, v in party.items() if v or k in ("kind", "name")}
    try:
        cf = _rt().case_files.create(body, g.actor)
    except Problem as problem:
        _flash_problem(problem)
        return redirect(url_for("pages.case_files"))
    flash(f"已建立案卷 {cf.archive_number}。", "ok")
    return redirect(url_for("pages.case_file", case_file_id=cf.id))


@pages_bp.post("/case-files/<case_file_id>/people")
@signed_in
def update_case_file(case_file_id: str):
    body = {name: request.form.get(name, "").strip() for name in ("compiled_by", "checked_by")}
    try:
        _rt().case_files.update(case_file_id, body, g.actor)
        flash("已保存立卷人与检查人。", "ok")
    except Problem as problem:
        _flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.get("/case-files/<case_file_id>")
@signed_in
def case_file(case_file_id: str):
    rt = _rt()
    try:
        cf = rt.case_files.get(case_file_id)
    except Problem:
        abort(404)
    checks = rt.seals.check(case_file_id) if cf.status == "open" and cf.items else None
    return render_template("archive/case_file.html", cf=cf, bound=rt.case_files.bound_items(cf), checks=checks,
                           categories=rt.case_files.rules_for(cf).categories)


@pages_bp.post("/case-files/<case_file_id>/documents")
@signed_in
def add_document(case_file_id: str):
    try:
        item = _rt().case_files.add_document(case_file_id, {"document_id": request.form.get("document_id", "").strip()},
                                             g.actor)
        flash(f"已加入：{item.title}（{item.number or ''}）", "ok")
    except Problem as problem:
        _flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.post("/case-files/<case_file_id>/uploads")
@signed_in
def add_upload(case_file_id: str):
    rt = _rt()
    try:
        with parse_upload(rt.settings.service_dir("archive") / "uploads", rt.settings.max_upload_bytes) as form:
            meta = {k: form.fields.get(k, "").strip() for k in ("title", "kind", "category", "date", "author", "number",
                                                                  "signed_original_of", "taken_at", "place", "photographer",
                                                                  "proves")}
            meta = {k: v for k, v in meta.items() if v}
            item = rt.case_files.add_upload(case_file_id, form.file("file"), meta, g.actor)
        flash(f"已上传：{item.title}（{item.pages} 页）", "ok")
    except Problem as problem:
        _flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.post("/case-files/<case_file_id>/seal")
@signed_in
def seal(case_file_id: str):
    reason = request.form.get("override_reason", "").strip()
    try:
        _rt().seals.request(case_file_id, {"override_reason": reason} if reason else {}, g.actor)
        flash("已提交封存，组卷与签章完成后状态变为“已封存”。", "ok")
    except Problem as problem:
        _flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.get("/case-files/<case_file_id>/sealed.pdf")
@signed_in
def download_pdf(case_file_id: str):
    cf = _rt().case_files.get(case_file_id)
    if cf.status != "sealed":
        abort(409)
    from services.archive.api import send_blob
    return send_blob(_rt().blobs, cf.sealed_sha256, "application/pdf", f"{cf.archive_number}.pdf")


@pages_bp.get("/case-files/<case_file_id>/package.tar")
@signed_in
def download_package(case_file_id: str):
    path, name = _rt().packages.package(case_file_id)
    return send_file(path, mimetype="application/x-tar", as_attachment=True, download_name=name)
