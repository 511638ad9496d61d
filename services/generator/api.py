"""Generator HTTP API (v1): parse, call the domain, shape the response."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request

from services.generator import cases
from services.generator.documents import PdfNotReady, request_digest, utc_iso
from services.generator.models import Document
from services.generator.runtime import Runtime
from shared.problems import FieldError, invalid, invalid_field, not_found
from shared.paging import int_arg, page_args
from shared.web import external_url, json_body, principal, problem_response, requires

bp = Blueprint("generator", __name__)

READERS = ("case-system", "archivist", "publisher")
MEDIA_TYPES = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
               "pdf": "application/pdf"}
# How long a client may ask to wait for a PDF (`?wait=`), in seconds.
MAX_PDF_WAIT = 30


def _rt() -> Runtime:
    return current_app.extensions["zhifa.runtime"]


def document_json(doc: Document) -> dict:
    files = {"docx": {"status": "done", "url": external_url("generator.document_file", document_id=doc.id, fmt="docx"),
                      "sha256": doc.docx_sha256, "bytes": doc.docx_bytes}}
    if doc.pdf_status != "none":
        pdf = {"status": doc.pdf_status, "url": external_url("generator.document_file", document_id=doc.id, fmt="pdf")}
        if doc.pdf_status == "done":
            pdf.update(sha256=doc.pdf_sha256, bytes=doc.pdf_bytes)
        files["pdf"] = pdf
    return {"id": doc.id, "type": doc.type, "title": doc.title, "number": doc.number,
            "issued_on": doc.issued_on.isoformat(), "issued_at": utc_iso(doc.issued_at),
            "template_version": doc.template_version, "agency": doc.agency_name,
            "data": doc.data, "deadlines": doc.deadlines, "warnings": doc.warnings or [],
            "case_number": doc.case_number,
            "verification_code": doc.verification_code, "files": files}


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
    """Registers the document (number, DOCX) at once; the PDF is made right
    after, outside the numbering transaction. `Prefer: respond-async` answers
    without waiting for the PDF (files.pdf.status "pending"). `Accept:
    application/pdf` answers with the PDF itself once it is made (the
    document's URL in Location, its number in the file name), else with the
    document's JSON."""
    body = json_body()
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and key.isprintable()):
        raise invalid_field("Idempotency-Key", "幂等键须为 1–200 个可打印字符。")
    rt = _rt()
    prepared = rt.documents.prepare(body)
    # The PDF's job is recorded with the document: 201 with the PDF pending even if the queue is down.
    doc, created = rt.renditions.issue(prepared, principal().actor, key, request_digest(body),
                                       wait_for_pdf="respond-async" not in request.headers.get("Prefer", ""))
    if created:
        rt.metrics.documents.labels(doc.type).inc()
    if _wants_pdf() and doc.pdf_status == "done":
        # One round trip for a case system that wants the PDF itself (Accept: application/pdf).
        resp = _file_response(doc, "pdf", rt.documents.blobs.get(doc.pdf_sha256))
    else:   # JSON, and for a PDF still pending or failed: the document says what happened to it
        resp = jsonify(document_json(doc))
    resp.status_code = 201 if created else 200
    resp.headers["Location"] = external_url("generator.get_document", document_id=doc.id)
    if not created:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get("/v1/documents")
@requires("archivist", "case-system")
def list_case_documents():
    """The documents of one case (`case_number`), in the order they were issued, a page at a time."""
    number = request.args.get("case_number", "").strip()
    if errors := cases.case_number_errors(number or None, "case_number") or ([] if number else
                                                                              [FieldError("case_number", "缺少该查询参数。")]):
        raise invalid(errors)
    page = page_args(default_size=50, max_size=200)
    total, docs = cases.documents_of_case(_rt().documents.sessions, number, page.offset, page.size)
    return jsonify({"case_number": number, "total": total, "page": page.page, "size": page.size,
                    "documents": [document_json(d) for d in docs]})


@bp.get("/v1/documents/<document_id>")
@requires(*READERS)
def get_document(document_id: str):
    return jsonify(document_json(_rt().documents.get(document_id)))


@bp.get("/v1/documents/<document_id>/<any(docx, pdf):fmt>")
@requires(*READERS)
def document_file(document_id: str, fmt: str):
    """A PDF still being made answers 503 with Retry-After; `?wait=N` (seconds,
    at most MAX_PDF_WAIT) waits for it first."""
    wait = int_arg("wait", 0, 0, MAX_PDF_WAIT)
    if fmt == "pdf" and wait:
        _rt().renditions.wait(document_id, wait)
    try:
        doc, data = _rt().documents.file(document_id, fmt)
    except PdfNotReady as pending:
        resp = problem_response(pending)
        resp.headers["Retry-After"] = "1" if pending.type.endswith("pending") else "60"
        return resp
    return _file_response(doc, fmt, data)


def _wants_pdf() -> bool:
    """The client prefers the PDF itself to the document's JSON (Accept: application/pdf)."""
    accept = request.accept_mimetypes
    return (accept.best_match(["application/json", MEDIA_TYPES["pdf"]]) == MEDIA_TYPES["pdf"]
            and accept[MEDIA_TYPES["pdf"]] > accept["application/json"])


def _file_response(doc: Document, fmt: str, data: bytes) -> Response:
    resp = Response(data, mimetype=MEDIA_TYPES[fmt])
    # RFC 6266: the Chinese file name, e.g. 鞍审批罚决字〔2026〕第3号 行政处罚决定书.pdf
    filename = f"{doc.number} {doc.title}.{fmt}"
    resp.headers["Content-Disposition"] = f"attachment; filename=\"{doc.id}.{fmt}\"; filename*=UTF-8''{quote(filename)}"
    resp.headers["ETag"] = f"\"{doc.docx_sha256 if fmt == 'docx' else doc.pdf_sha256}\""
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/v1/documents/<document_id>/pdf")
@requires("case-system")
def retry_pdf(document_id: str):
    """Ask again for a PDF whose conversion failed; it is made from the stored DOCX."""
    doc = _rt().renditions.retry(document_id)
    resp = jsonify(document_json(doc))
    resp.status_code = 202 if doc.pdf_status == "pending" else 200
    return resp


@bp.post("/v1/batches")
@requires("case-system")
def create_batch():
    batch_id = _rt().batches.create(json_body(), principal().actor)
    _rt().metrics.batches.inc()
    status_url = external_url("generator.get_batch", batch_id=batch_id)
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
    after = int_arg("after", 0, 0, 2**62)
    limit = int_arg("limit", 100, 1, 1000)
    return jsonify(_rt().documents.audit_log(after, limit))


@bp.get("/v1/verify")
def verify():
    number, code = request.args.get("number", "").strip(), request.args.get("code", "").strip()
    missing = [FieldError(name, "缺少该查询参数。") for name, v in (("number", number), ("code", code)) if not v]
    if missing:
        raise invalid(missing)
    if len(number) > 100 or len(code) > 20:
        raise invalid_field("number" if len(number) > 100 else "code", "长度超出范围。")
    return jsonify(_rt().documents.verify(number, code))
