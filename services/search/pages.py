"""The citizens' pages (server-rendered Chinese HTML that works without
JavaScript): search with filters and facets, a decision, the verification
page the generator's QR codes point at, and statistics.

HTTP only, like api.py: arguments are read by the same functions, the
domain does the work. Every user text goes through Jinja's autoescaping;
the two pieces of markup built elsewhere (snippets, the SVG chart) escape
their text themselves.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request
from markupsafe import Markup

from services.search.api import next_cursor, run_search, search_query
from services.search.index import KINDS, MAX_WINDOW
from services.search.runtime import Runtime
from services.search.stats import MONTHS, monthly_csv, svg_chart
from shared.dates import chinese_date, today_in_china
from shared.http import UpstreamRefused
from shared.paging import int_arg
from shared.problems import Problem

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

# Strict: no script at all, styles only from our own file, forms only to us.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")


def _rt() -> Runtime:
    return current_app.extensions["zhifa.runtime"]


@bp.after_request
def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    return resp


@bp.errorhandler(Problem)
def _problem_page(problem: Problem):
    """Problems on a page (a withdrawn decision, a bad date) as a page of the site."""
    resp = Response(render_template("error.html", problem=problem), status=problem.status,
                    content_type="text/html; charset=utf-8")
    if problem.status == 429:
        resp.headers["Retry-After"] = "60"
    return resp


@bp.app_template_filter("cn_date")
def _cn_date(value) -> str:
    return chinese_date(value) if value else ""


@bp.app_context_processor
def _globals() -> dict:
    return {"KINDS": KINDS, "site_name": "行政执法决定公示", "today": today_in_china()}


def _url_with(**changes) -> str:
    """The current search with some arguments changed (None removes one)."""
    args = {k: v for k, v in request.args.items() if k not in ("page", "after")}
    for key, value in changes.items():
        if value in (None, ""):
            args.pop(key, None)
        else:
            args[key] = value
    return "/?" + urlencode(args) if args else "/"


# The search form's fields as a citizen reads them (error messages name the field this way).
FIELD_LABELS = {"q": "关键词", "kind": "类别", "agency": "决定机关", "from": "决定日期自", "to": "决定日期至",
                "sort": "排序", "page": "页码", "size": "每页条数", "after": "翻页标记"}


@bp.get("/")
def home():
    try:
        query = search_query()
    except Problem as problem:
        # The form comes back with what was typed and each wrong field marked and named.
        wrong = {e.path: e.message for e in problem.errors}
        messages = [(FIELD_LABELS.get(path, path), message) for path, message in wrong.items()]
        return render_template("search.html", error=problem, wrong=wrong, messages=messages, args=request.args,
                               result=None), problem.status
    result = run_search(query)
    last_page = max(1, min((result.total + query.size - 1) // query.size, MAX_WINDOW // query.size))
    return render_template("search.html", args=request.args, query=query, result=result, error=None,
                           url_with=_url_with, last_page=last_page, next_after=next_cursor(query, result),
                           searched=bool(request.args))


@bp.get("/decisions/<path:number>")
def decision_page(number: str):
    decision = _rt().decisions.get_public(number)
    return render_template("decision.html", d=decision)


@bp.get("/verify")
def verify_page():
    number, code = request.args.get("number", "").strip(), request.args.get("code", "").strip()
    result, error, status = None, None, 200
    if number or code:
        if not number or not code:
            error, status = "请同时填写文号和验证码。", 422
        elif len(number) > 100 or len(code) > 20:
            error, status = "文号或验证码过长，请核对后重试。", 422
        else:
            try:
                result = _rt().generator.get_json("/v1/verify", params={"number": number, "code": code})
            except UpstreamRefused as refused:
                error, status = ("请求过于频繁，请稍后再试。", 429) if refused.upstream_status == 429 else \
                    ("文号或验证码格式不正确，请核对后重试。", 422)
            except Problem:
                error, status = "核验服务暂时不可用，请稍后重试。", 503
    return render_template("verify.html", number=number, code=code, result=result, error=error), status


@bp.get("/stats")
def stats_page():
    year = int_arg("year", today_in_china().year, 2000, 2100)
    report = _rt().stats.year(year)
    years = sorted(set(_rt().stats.years()) | {year, today_in_china().year}, reverse=True)
    return render_template("stats.html", report=report, years=years, months=MONTHS,
                           chart=Markup(svg_chart(report, narrow=True) + svg_chart(report)))


@bp.get("/stats.csv")
def stats_csv():
    year = int_arg("year", today_in_china().year, 2000, 2100)
    resp = Response(monthly_csv(_rt().stats.year(year)), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="decisions-{year}.csv"'
    return resp
