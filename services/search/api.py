"""Search HTTP API (v1): parse, call the domain, shape the response."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date

from flask import Blueprint, Response, current_app, jsonify, request

from services.search import decisions as decision_rules
from services.search.decisions import public_json
from services.search.index import KINDS, SORTS, SearchQuery, SearchResult, parse_terms
from services.search.publication import EXPORT_FIELDS
from services.search.runtime import Runtime
from services.search.spreadsheets import csv_text
from services.search.stats import monthly_csv
from shared.dates import parse_iso_date, today_in_china
from shared.paging import int_arg, page_args
from shared.problems import FieldError, invalid, invalid_field
from shared.web import external_url, json_body, principal, requires

bp = Blueprint("search", __name__)

MAX_PAGE_SIZE = 50


def _rt() -> Runtime:
    return current_app.extensions["zhifa.runtime"]


# -- query arguments (also read by the pages) -------------------------------------

def _text_arg(name: str, max_len: int = 200) -> str | None:
    value = request.args.get(name, "").strip()
    if len(value) > max_len:
        raise invalid_field(name, f"长度不能超过 {max_len} 个字符。")
    return value or None


def _date_arg(name: str) -> date | None:
    value = _text_arg(name, 20)
    if value is None:
        return None
    parsed = parse_iso_date(value)
    if parsed is None:
        raise invalid_field(name, "日期格式应为 YYYY-MM-DD 且为有效日期。")
    return parsed


def encode_cursor(decided_on: str, number: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([decided_on, number], ensure_ascii=False).encode()).decode()


def _cursor_arg() -> tuple[str, str] | None:
    raw = _text_arg("after", 400)
    if raw is None:
        return None
    try:
        decided, number = json.loads(base64.urlsafe_b64decode(raw.encode()))
        date.fromisoformat(decided)
        if not isinstance(number, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise invalid_field("after", "翻页标记无效，请从第一页重新检索。")
    return decided, number


def search_query() -> SearchQuery:
    """The search arguments of /v1/search and of the search page, each bad one named."""
    errors: list[FieldError] = []
    kind, sort = _text_arg("kind", 20), _text_arg("sort", 20) or "relevance"
    if kind and kind not in KINDS:
        errors.append(FieldError("kind", f"取值应为以下之一：{'、'.join(KINDS)}。"))
    if sort not in SORTS:
        errors.append(FieldError("sort", f"取值应为以下之一：{'、'.join(SORTS)}。"))
    date_from, date_to = _date_arg("from"), _date_arg("to")
    if date_from and date_to and date_from > date_to:
        errors.append(FieldError("from", "起始日期不能晚于截止日期。"))
    if errors:
        raise invalid(errors)
    page = page_args(default_size=20, max_size=MAX_PAGE_SIZE)
    after = _cursor_arg()
    if after and sort != "date":
        raise invalid_field("after", "按时间排序（sort=date）时才能使用翻页标记。")
    return SearchQuery(terms=parse_terms(request.args.get("q", "")), kind=kind, agency=_text_arg("agency"),
                       date_from=date_from, date_to=date_to, sort=sort, page=page.page, size=page.size,
                       after=after)


def run_search(query: SearchQuery) -> SearchResult:
    return decision_rules.search(_rt().decisions, query)


def next_cursor(query: SearchQuery, result: SearchResult) -> str | None:
    if query.effective_sort != "date" or len(result.hits) < query.size:
        return None
    last = result.hits[-1]
    return encode_cursor(last.decided_on.isoformat(), last.number)


# -- publishing ------------------------------------------------------------------------

@bp.post("/v1/decisions")
@requires("publisher")
def publish_decision():
    rt = _rt()
    prepared = rt.decisions.prepare(json_body())
    decision, created = rt.decisions.publish(prepared, principal().actor)
    url = external_url("pages.decision_page", number=decision.number)
    resp = jsonify({"number": decision.number, "status": decision.status, "public_url": url,
                    "publish_until": decision.publish_until.isoformat(), "redactions": decision.redactions})
    resp.status_code = 201 if created else 200
    resp.headers["Location"] = external_url("search.get_decision", number=decision.number)
    return resp


@bp.post("/v1/decisions/preview")
@requires("publisher")
def preview_decision():
    return jsonify(_rt().decisions.preview(json_body()))


@bp.delete("/v1/decisions/<path:number>")
@requires("publisher")
def withdraw_decision(number: str):
    reason = (json_body() if request.content_length else {}).get("reason") or request.args.get("reason", "")
    if not isinstance(reason, str):
        raise invalid_field("reason", "类型应为文本。")
    decision = _rt().decisions.withdraw(number, reason, principal().actor)
    return jsonify({"number": decision.number, "status": decision.status, "reason": decision.status_reason})


@bp.get("/v1/audit")
@requires("admin")
def audit_log():
    return jsonify(_rt().decisions.audit_log(int_arg("after", 0, 0, 2**62), int_arg("limit", 100, 1, 1000)))


# -- public ----------------------------------------------------------------------------

@bp.get("/v1/decisions/<path:number>")
def get_decision(number: str):
    decision = _rt().decisions.get_public(number)
    return jsonify({**public_json(decision), "public_url": external_url("pages.decision_page", number=number)})


@bp.get("/v1/search")
def search_decisions():
    query = search_query()
    result = run_search(query)
    return jsonify({"total": result.total, "total_approximate": result.total_approximate,
                    "page": query.page, "size": query.size,
                    "hits": [h.as_dict() for h in result.hits], "facets": result.facets,
                    "facets_approximate": result.facets_approximate, "ranked_within": result.ranked_within,
                    "next": next_cursor(query, result)})


@bp.get("/v1/stats")
def stats():
    year = int_arg("year", today_in_china().year, 2000, 2100)
    fmt = _text_arg("format", 10) or "json"
    if fmt not in ("json", "csv"):      # an unknown format was answered as JSON, as if asked for
        raise invalid_field("format", "取值应为以下之一：json、csv。")
    report = _rt().stats.year(year)
    if fmt == "csv":
        return _csv_response(monthly_csv(report), f"decisions-{year}.csv")
    return jsonify(report.as_dict())


@bp.get("/v1/export")
def export():
    """The 双公示 field sets of every decision on show, as JSON or CSV."""
    kind, fmt = _text_arg("kind", 20), _text_arg("format", 10) or "json"
    if kind and kind not in KINDS:
        raise invalid_field("kind", f"取值应为以下之一：{'、'.join(KINDS)}。")
    if fmt not in ("json", "csv"):
        raise invalid_field("format", "取值应为以下之一：json、csv。")
    if fmt == "csv" and not kind:
        raise invalid_field("kind", "导出 CSV 须指定决定类别（各类别的公示字段不同）。")
    decisions = _rt().decisions.public_decisions(kind)
    if fmt == "json":
        return jsonify([{"kind": d.kind, "fields": d.disclosure} for d in decisions])
    fields = EXPORT_FIELDS[kind]
    rows = ([d.disclosure.get(f, "") for f in fields] for d in decisions)
    return _csv_response(csv_text(fields, rows), f"{kind}-decisions.csv")


def _csv_response(text: str, filename: str) -> Response:
    resp = Response(text, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.charset = "utf-8"
    return resp


# -- pending publications (pending.py) ------------------------------------------------

@bp.post("/v1/pending")
@requires("case-system")
def add_pending():
    """The generator's notice of a decision to publish; the same document id again answers 200."""
    entry, created = _rt().pending.add(json_body(), principal().actor)
    resp = jsonify(entry.as_dict())
    resp.status_code = 201 if created else 200
    return resp


@bp.get("/v1/pending")
@requires("publisher")
def list_pending():
    status = _text_arg("status", 20) or "pending"
    page = page_args(default_size=50, max_size=200)
    total, entries = _rt().pending.list(status, page.offset, page.size)
    return jsonify({"status": status, "total": total, "page": page.page, "size": page.size,
                    "entries": [e.as_dict() for e in entries]})


@bp.post("/v1/pending/<document_id>/publish")
@requires("publisher")
def publish_pending(document_id: str):
    """Publish the decision from its generator document; the body may add what a publisher adds to
    POST /v1/decisions (publish_until, sector, redaction adjustments...)."""
    rt = _rt()
    rt.pending.require_publishable(document_id)
    body = json_body() if request.content_length else {}
    prepared = rt.decisions.prepare({**body, "document_id": document_id})
    decision, created = rt.decisions.publish(prepared, principal().actor)
    resp = jsonify({**rt.pending.get(document_id).as_dict(),
                    "public_url": external_url("pages.decision_page", number=decision.number),
                    "publish_until": decision.publish_until.isoformat(), "redactions": decision.redactions})
    resp.status_code = 201 if created else 200
    return resp


@bp.post("/v1/pending/<document_id>/withhold")
@requires("publisher")
def withhold_pending(document_id: str):
    """Not to be published, with the reason (recorded and audited)."""
    body = json_body() if request.content_length else {}
    return jsonify(_rt().pending.withhold(document_id, body.get("reason"), principal().actor).as_dict())
