"""Signed-in pages (no JavaScript) for the archivists and the publishers: one
way to sign in, keep and end a session, for every service that has such pages.

Sessions are server-side rows (a table of the service: id_hash, token_digest,
created_at, expires_at, ended_at): the HttpOnly, SameSite=Strict cookie carries a random
session id and the CSRF token, and every request checks the row (not ended by
logout, not expired) and that the token it was opened with is still in the
current key list, so logout and a revoked token end it at once; the audit
names the token as it is now. Every form carries the CSRF token; pages are
served under a strict Content-Security-Policy.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from functools import wraps
from typing import Callable

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, session, url_for
from sqlalchemy.orm import sessionmaker

from shared.auth import ApiKeys, Principal
from shared.db import as_utc, reading, transaction
from shared.files import write_file
from shared.problems import Problem

SESSION_HOURS = 8        # a working day: then sign in again
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def install_secret(app: Flask, key_file, *, cookie_name: str, secure: bool, cookie_path: str | None = None) -> None:
    """The session secret (kept in the service's data dir, 0600) and the cookie's settings."""
    if not key_file.exists():
        write_file(key_file, secrets.token_hex(32), mode=0o600)
    app.secret_key = key_file.read_text().strip()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_SECURE=secure,
                      SESSION_COOKIE_NAME=cookie_name)
    if cookie_path:
        app.config["SESSION_COOKIE_PATH"] = cookie_path


def secure_headers(bp: Blueprint, csp: str = CSP) -> None:
    """Every answer of the blueprint's pages: a strict CSP, no sniffing, no referrer, not cached."""
    @bp.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = csp
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf(given: str) -> None:
    if not hmac.compare_digest(given or "", session.get("csrf", "")):
        abort(400, "表单已过期，请刷新页面后重试。")


def flash_problem(problem: Problem) -> None:
    flash(f"{problem.title}：{problem.detail or ''}", "error")
    for error in problem.errors:
        flash(f"{error.path}：{error.message}", "error")


def _token_digest(token: str) -> str:
    return hmac.new(current_app.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class PageSessions:
    """Sign-in, sessions and the `signed_in` guard of one service's pages.

    model: the session table's model; db: () -> the service's sessionmaker (read per request, as the
    runtime hangs on the app); sign_in_role: the role a token must have to sign in (admin may too);
    login_endpoint / login_template: where a dead session is sent."""

    def __init__(self, model, db: Callable[[], sessionmaker], *, sign_in_role: str, login_endpoint: str,
                 login_template: str, refused_message: str):
        self.model, self.db = model, db
        self.roles = (sign_in_role, "admin")
        self.sign_in_role = sign_in_role
        self.login_endpoint, self.login_template = login_endpoint, login_template
        self.refused_message = refused_message

    # -- sessions --------------------------------------------------------------------
    def open(self, token: str) -> str:
        sid, now = secrets.token_urlsafe(32), datetime.now(timezone.utc)
        with transaction(self.db()) as db:
            db.add(self.model(id_hash=_id_hash(sid), token_digest=_token_digest(token), created_at=now,
                              expires_at=now + timedelta(hours=SESSION_HOURS)))
        return sid

    def end(self, sid) -> None:
        if not isinstance(sid, str) or not sid:
            return
        with transaction(self.db()) as db:
            row = db.get(self.model, _id_hash(sid))
            if row is not None and row.ended_at is None:
                row.ended_at = datetime.now(timezone.utc)

    def current(self) -> Principal | None:
        """Who this request's session belongs to, as the key list says now; None when the
        session ended, expired, or its token was removed or no longer has a page role."""
        sid = session.get("sid")
        if not isinstance(sid, str) or not sid:
            return None
        with reading(self.db()) as db:
            row = db.get(self.model, _id_hash(sid))
        if row is None or row.ended_at is not None or as_utc(row.expires_at) <= datetime.now(timezone.utc):
            return None
        keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
        found = keys.find(_token_digest, row.token_digest)
        return found if found is not None and found.role in self.roles else None

    # -- views -----------------------------------------------------------------------
    def signed_in(self, view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = self.current()
            if principal is None:
                self.end(session.get("sid"))
                session.clear()
                if request.method != "GET":      # a write with a dead session is refused, not redirected into
                    flash("登录已失效，请重新登录。", "error")
                    return render_template(self.login_template), 401
                return redirect(url_for(self.login_endpoint))
            if request.method == "POST":
                # Upload forms carry the token in their action URL: reading request.form would spool the file.
                check_csrf(request.args.get("csrf", "") if request.mimetype == "multipart/form-data"
                           else request.form.get("csrf", ""))
            g.actor = principal.actor
            return view(*args, **kwargs)
        return wrapper

    def login(self, home_endpoint: str):
        """The sign-in form's view: a token of the page role opens a new session."""
        if request.method == "POST":
            check_csrf(request.form.get("csrf", ""))
            keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
            token = request.form.get("token", "").strip()
            try:
                keys.authenticate(f"Bearer {token}", (self.sign_in_role,))
            except Problem:
                flash(self.refused_message, "error")
                return render_template(self.login_template), 401
            self.end(session.get("sid"))
            session.clear()
            session["sid"] = self.open(token)
            session["csrf"] = secrets.token_urlsafe(32)
            return redirect(url_for(home_endpoint))
        return render_template(self.login_template)

    def logout(self):
        self.end(session.get("sid"))
        session.clear()
        return redirect(url_for(self.login_endpoint))
