"""Server-rendered Chinese pages for archivists (no JavaScript): sign in with
the archivist's token, list case files, open one, add documents and
evidence, read the checks with their reasons, seal (with a reason when a
check failed), download the sealed PDF and the hand-over package.

Sessions, CSRF tokens and the pages' security headers are shared/page_sessions.py's
(rows in the page_sessions table). The HTTP layer only: the domain is the same as the API's.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, flash, g, redirect, render_template, request, send_file, url_for

from services.archive.checks import PROPERTY_NAMES
from services.archive.models import PageSession
from shared.config import Settings
from shared.page_sessions import PageSessions, csrf_token, flash_problem, install_secret, secure_headers
from shared.problems import Problem
from shared.uploads import parse_upload

pages_bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
                     static_url_path="/static/archive")

STATUS_NAMES = {"open": "未封存", "sealing": "封存中", "sealed": "已封存"}
CATEGORY_NAMES = {"decision": "决定文书", "approval": "审批表", "notice": "通知及送达回证", "record": "笔录",
                  "identity": "身份证明", "documentary": "书证", "photo": "照片", "electronic": "电子数据、视听资料",
                  "discussion": "集体讨论记录", "execution": "执行材料"}


def install_pages(app: Flask, settings: Settings) -> None:
    install_secret(app, settings.service_dir("archive") / "session.key", cookie_name="zhifa_archive",
                   secure=settings.archive_url.startswith("https://"))
    app.jinja_env.globals.update(STATUS_NAMES=STATUS_NAMES, CATEGORY_NAMES=CATEGORY_NAMES,
                                 PROPERTY_NAMES=PROPERTY_NAMES, csrf_token=csrf_token)


secure_headers(pages_bp)
PAGES = PageSessions(PageSession, lambda: _rt().case_files.sessions, sign_in_role="archivist",
                     login_endpoint="pages.login", login_template="archive/login.html",
                     refused_message="令牌无效，或不是档案管理员的令牌。")
signed_in = PAGES.signed_in


def _rt():
    return current_app.extensions["zhifa.runtime"]


@pages_bp.get("/")
def home():
    return redirect(url_for("pages.case_files" if PAGES.current() else "pages.login"))


@pages_bp.route("/login", methods=["GET", "POST"])
def login():
    return PAGES.login("pages.case_files")


@pages_bp.post("/logout")
@signed_in
def logout():
    return PAGES.logout()


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
        flash_problem(problem)
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
        flash_problem(problem)
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
        flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.post("/case-files/<case_file_id>/collect")
@signed_in
def collect(case_file_id: str):
    """One click: every document the generator issued for the case (collect.py)."""
    from services.archive.collect import Collector
    rt = _rt()
    try:
        report = Collector(rt.case_files, rt.case_files.generator).collect(
            case_file_id, {"case_number": request.form.get("case_number", "").strip() or None}, g.actor)
        flash(f"案件 {report['case_number']}：生成服务有 {report['found']} 份文书，新加入 {len(report['added'])} 份，"
              f"{len(report['already_present'])} 份已在卷内。", "ok")
        for refused in report["refused"]:
            flash(f"未加入 {refused['number'] or refused['document_id']}：{refused['detail'] or refused['reason']}", "error")
    except Problem as problem:
        flash_problem(problem)
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
        flash_problem(problem)
    return redirect(url_for("pages.case_file", case_file_id=case_file_id))


@pages_bp.post("/case-files/<case_file_id>/seal")
@signed_in
def seal(case_file_id: str):
    reason = request.form.get("override_reason", "").strip()
    try:
        _rt().seals.request(case_file_id, {"override_reason": reason} if reason else {}, g.actor)
        flash("已提交封存，组卷与签章完成后状态变为“已封存”。", "ok")
    except Problem as problem:
        flash_problem(problem)
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
