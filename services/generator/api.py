"""Generator HTTP API (v1): parse, call the domain, shape the response."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, jsonify, request, url_for

from services.generator import runtime
from services.generator.documents import request_digest, utc_iso
from services.generator.models import Document
from shared.problems import FieldError, invalid, invalid_field, not_found
from shared.web import json_body, principal, requires

bp = Blueprint("generator", __name__)

READERS = ("case-system", "archivist", "publisher")
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "pdf": "application/pdf"}


def _rt() -> runtime.Runtime:
    return runtime.current()


def document_json(doc: Document) -> dict:
    files = {}
    for fmt, sha, size in (("docx", doc.docx_sha256, doc.docx_bytes), ("pdf", doc.pdf_sha256, doc.pdf_bytes)):
        if sha:
            files[fmt] = {"url": url_for("generator.document_file", document_id=doc.id, fmt=fmt, _external=True),
                          "sha256": sha, "bytes": size}
    return {"id": doc.id, "type": doc.type, "title": doc.title, "number": doc.number,
            "issued_on": doc.issued_on.isoformat(), "issued_at": utc_iso(doc.issued_at),
            "template_version": doc.template_version,
            "deadlines": doc.deadlines, "verification_code": doc.verification_code, "files": files}


@bp.get("/v1/templates")
def list_templates():
    return jsonify([t.summary() for t in _rt().documents.catalogue])


@bp.get("/v1/templates/<doc_type>")
def get_template(doc_type: str):
    t = _rt().documents.catalogue.get(doc_type)
    if t is None:
        raise not_found(f"文书类型 {doc_type}")
    return jsonify({**t.summary(), "schema": t.schema, "example": t.example})


@bp.post("/v1/documents")
@requires("case-system")
def create_document():
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
        raise invalid_field("Idempotency-Key", "幂等键须为 1–200 个可打印字符。")
    docs = _rt().documents
    prepared = docs.prepare(body)
    doc, created = docs.issue(prepared, principal().actor, key, request_digest(body))
    resp = jsonify(document_json(doc))
    resp.status_code = 201 if created else 200
    resp.headers["Location"] = url_for("generator.get_document", document_id=doc.id)
    if not created:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get("/v1/documents/<document_id>")
@requires(*READERS)
def get_document(document_id: str):
    return jsonify(document_json(_rt().documents.get(document_id)))


@bp.get("/v1/documents/<document_id>/<any(docx, pdf):fmt>")
@requires(*READERS)
def document_file(document_id: str, fmt: str):
    doc, data = _rt().documents.file(document_id, fmt)
    resp = Response(data, mimetype=MEDIA_TYPES[fmt])
    # RFC 6266: the Chinese file name, e.g. 鞍审批罚决字〔2026〕第3号 行政处罚决定书.pdf
    filename = f"{doc.number} {doc.title}.{fmt}"
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{doc.id}.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    resp.headers["ETag"] = f"\"{doc.docx_sha256 if fmt == 'docx' else doc.pdf_sha256}\""
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/v1/batches")
@requires("case-system")
def create_batch():
    batch_id = _rt().batches.create(json_body(), principal().actor)
    status_url = url_for("generator.get_batch", batch_id=batch_id, _external=True)
    resp = jsonify({"id": batch_id, "status_url": status_url})
    resp.status_code = 202
    resp.headers["Location"] = status_url
    return resp


@bp.get("/v1/batches/<batch_id>")
@requires("case-system")
def get_batch(batch_id: str):
    return jsonify(_rt().batches.status(batch_id))


@bp.get("/v1/audit")
@requires("admin")
def audit_log():
    after = _int_arg("after", 0, 0, 2**62)
    limit = _int_arg("limit", 100, 1, 1000)
    return jsonify(_rt().documents.audit_log(after, limit))


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise invalid_field(name, f"须为 {low}–{high} 之间的整数。")
    return int(raw)


@bp.get("/v1/verify")
def verify():
    number, code = request.args.get("number", "").strip(), request.args.get("code", "").strip()
    missing = [FieldError(name, "缺少该查询参数。") for name, v in (("number", number), ("code", code)) if not v]
    if missing:
        raise invalid(missing)
    if len(number) > 100 or len(code) > 20:
        raise invalid_field("number" if len(number) > 100 else "code", "长度超出范围。")
    return jsonify(_rt().documents.verify(number, code))
