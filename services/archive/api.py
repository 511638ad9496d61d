"""Archive HTTP API (v1): parse, call the domain, shape the response."""
from __future__ import annotations

import unicodedata
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request, send_file
from sqlalchemy import select

from services.archive.case_files import require_open
from services.archive.models import AuditLog, CaseFile, Item
from services.archive.runtime import Runtime
from services.archive.verification import max_verify_bytes
from shared import audit
from shared.blobstore import BlobStore, LocalBlobStore
from shared.db import as_utc, reading
from shared.paging import int_arg, page_args
from shared.problems import conflict, invalid_field, not_found
from shared.uploads import parse_body, parse_upload
from shared.web import external_url, json_body, principal, requires

bp = Blueprint("archive", __name__)

ARCHIVISTS = ("archivist",)


def _rt() -> Runtime:
    return current_app.extensions["zhifa.runtime"]


def send_blob(blobs: BlobStore, sha: str, mimetype: str, download_name: str, conditional: bool = False) -> Response:
    """A blob as a download. A local blob is sent as its file (ranges, sendfile); an S3 blob is streamed
    through in 1 MB chunks, checked as it goes (a damaged one ends the response short, never whole);
    with `conditional`, If-None-Match and one byte range (a resumed download) are answered from S3."""
    if isinstance(blobs, LocalBlobStore):
        return send_file(blobs.path(sha), mimetype=mimetype, as_attachment=True, download_name=download_name,
                         etag=sha, conditional=conditional)
    size = blobs.size(sha)
    wanted = request.range if conditional and request.range is not None and request.range.units == "bytes" else None
    if wanted is not None and request.if_range.etag not in (None, sha):
        wanted = None                        # If-Range names another version: the whole file
    if wanted is not None and request.if_none_match.contains(sha):
        wanted = None                        # a 304 below
    span = wanted.range_for_length(size) if wanted is not None and len(wanted.ranges) == 1 else None
    if wanted is not None and len(wanted.ranges) == 1 and span is None:
        resp = Response(status=416)
        resp.headers["Content-Range"] = f"bytes */{size}"
        return resp
    if span is not None:
        resp = Response(blobs.iter_range(sha, *span), status=206, mimetype=mimetype, direct_passthrough=True)
        resp.content_length = span[1] - span[0]
        resp.headers["Content-Range"] = f"bytes {span[0]}-{span[1] - 1}/{size}"
    else:
        resp = Response(blobs.iter_chunks(sha), mimetype=mimetype, direct_passthrough=True)
        resp.content_length = size
    if conditional:
        resp.headers["Accept-Ranges"] = "bytes"
    if download_name.isascii():          # as send_file names it
        resp.headers.set("Content-Disposition", "attachment", filename=download_name)
    else:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore").decode("ascii")
        resp.headers.set("Content-Disposition", "attachment", filename=simple,
                         **{"filename*": f"UTF-8''{quote(download_name, safe='!#$&+-.^_`|~')}"})
    resp.set_etag(sha)
    return resp.make_conditional(request) if conditional and span is None else resp


def _iso(moment) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def item_json(item: Item, first: int, last: int, seq: int) -> dict:
    return {"id": item.id, "seq": seq, "kind": item.kind, "category": item.category, "source": item.source,
            "document_id": item.document_id, "type": item.doc_type, "title": item.title, "number": item.number,
            "author": item.author, "date": item.date.isoformat() if item.date else None, "format": item.format,
            "media_type": item.media_type, "filename": item.filename, "sha256": item.original_sha256,
            "bytes": item.original_bytes, "pages": item.pages, "page_range": [first, last],
            "duration_seconds": item.duration_seconds, "added_at": _iso(item.added_at),
            "signed_original_of": item.signs_item_id, "caption": item.caption,
            "original_url": external_url("archive.item_original", case_file_id=item.case_file_id, item_id=item.id)}


def case_file_json(cf: CaseFile, with_items: bool = True) -> dict:
    body = {"id": cf.id, "status": cf.status, "archive_number": cf.archive_number, "fonds": cf.fonds,
            "fonds_name": cf.fonds_name, "title": cf.title, "case_type": cf.case_type,
            "party": cf.party_detail or {"name": cf.party}, "case_number": cf.case_number,
            "secrecy": cf.secrecy or "非密", "filing_unit": cf.filing_unit or cf.handling_unit,
            "variant": cf.variant,
            "decision_number": cf.decision_number, "handling_unit": cf.handling_unit,
            "opened_on": cf.opened_on.isoformat(), "closed_on": cf.closed_on.isoformat(), "retention": cf.retention,
            "compiled_by": cf.compiled_by, "checked_by": cf.checked_by, "notes": cf.notes,
            "created_at": _iso(cf.created_at), "url": external_url("archive.get_case_file", case_file_id=cf.id)}
    if cf.status in ("sealing", "sealed") or cf.seal_error:
        body["seal"] = {"override_reason": cf.override_reason, "error": cf.seal_error, "sealed_at": _iso(cf.sealed_at),
                        "sha256": cf.sealed_sha256, "bytes": cf.sealed_bytes, "pages": cf.pages,
                        "ledger_sequence": cf.ledger_seq}
    if cf.status == "sealed":
        body["pdf_url"] = external_url("archive.sealed_pdf", case_file_id=cf.id)
        body["package_url"] = external_url("archive.package", case_file_id=cf.id)
    if with_items:
        rules = _rt().case_files.rules_for(cf)     # the flow the items show, when none was named
        body["variant"] = rules.variant.name if rules.variant else None
        bound = _rt().case_files.bound_items(cf)
        body["items"] = [item_json(item, first, last, seq) for seq, (item, first, last) in enumerate(bound, 1)]
        body["item_count"], body["page_count"] = len(bound), (bound[-1][2] if bound else 0)
        # Generated documents the archivist has not yet attached the signed and stamped scan of.
        body["unsigned_documents"] = [{"id": i.id, "number": i.number, "title": i.title}
                                      for i in _rt().case_files.unsigned_documents(cf)]
    return body


@bp.post("/v1/case-files")
@requires(*ARCHIVISTS)
def create_case_file():
    cf = _rt().case_files.create(json_body(), principal().actor)
    resp = jsonify(case_file_json(_rt().case_files.get(cf.id)))
    resp.status_code = 201
    resp.headers["Location"] = external_url("archive.get_case_file", case_file_id=cf.id)
    return resp


@bp.get("/v1/case-files")
@requires(*ARCHIVISTS)
def list_case_files():
    page = page_args()
    status = request.args.get("status")
    if status not in (None, "open", "sealing", "sealed"):
        raise invalid_field("status", "取值应为 open、sealing 或 sealed。")
    total, rows = _rt().case_files.list((page.page - 1) * page.size, page.size, status)
    return jsonify({"total": total, "page": page.page, "size": page.size,
                    "case_files": [case_file_json(cf, with_items=False) for cf in rows]})


@bp.get("/v1/case-files/<case_file_id>")
@requires(*ARCHIVISTS)
def get_case_file(case_file_id: str):
    return jsonify(case_file_json(_rt().case_files.get(case_file_id)))


@bp.patch("/v1/case-files/<case_file_id>")
@requires(*ARCHIVISTS)
def update_case_file(case_file_id: str):
    """立卷人, 检查人, notes, 密级, 立卷单位 while the file is open."""
    return jsonify(case_file_json(_rt().case_files.update(case_file_id, json_body(), principal().actor)))


@bp.post("/v1/case-files/<case_file_id>/items")
@requires(*ARCHIVISTS)
def add_item(case_file_id: str):
    """JSON {document_id} for a generated document; multipart `file` + `meta` for an upload."""
    rt = _rt()
    if request.mimetype == "multipart/form-data":
        require_open(rt.case_files.get(case_file_id))     # refuse before reading a large body
        with parse_upload(rt.settings.service_dir("archive") / "uploads", rt.settings.max_upload_bytes) as form:
            item = rt.case_files.add_upload(case_file_id, form.file("file"), form.json_field("meta"), principal().actor)
    else:
        item = rt.case_files.add_document(case_file_id, json_body(), principal().actor)
    cf = rt.case_files.get(case_file_id)
    seq, first, last = next((seq, f, la) for seq, (i, f, la) in enumerate(rt.case_files.bound_items(cf), 1) if i.id == item.id)
    resp = jsonify(item_json(item, first, last, seq))
    resp.status_code = 201
    return resp


@bp.get("/v1/case-files/<case_file_id>/items/<item_id>/original")
@requires(*ARCHIVISTS)
def item_original(case_file_id: str, item_id: str):
    cf = _rt().case_files.get(case_file_id)
    item = next((i for i in cf.items if i.id == item_id), None)
    if item is None:
        raise not_found("卷内文件")
    resp = send_blob(_rt().blobs, item.original_sha256, item.media_type, f"{item.id}.{item.format}")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/v1/case-files/<case_file_id>/checks")
@requires(*ARCHIVISTS)
def checks(case_file_id: str):
    return jsonify(_rt().seals.check(case_file_id))


@bp.post("/v1/case-files/<case_file_id>/seal")
@requires(*ARCHIVISTS)
def seal(case_file_id: str):
    body = json_body() if request.content_length else {}
    cf = _rt().seals.request(case_file_id, body, principal().actor)
    resp = jsonify(case_file_json(cf, with_items=False))
    resp.status_code = 202
    resp.headers["Location"] = external_url("archive.get_case_file", case_file_id=case_file_id)
    resp.headers["Retry-After"] = "2"
    return resp


@bp.get("/v1/case-files/<case_file_id>/pdf")
@requires(*ARCHIVISTS)
def sealed_pdf(case_file_id: str):
    cf = _rt().case_files.get(case_file_id)
    if cf.status != "sealed":
        raise conflict("case-file-not-sealed", "案卷尚未封存", "案卷封存后才能下载封存的 PDF。")
    resp = send_blob(_rt().blobs, cf.sealed_sha256, "application/pdf", f"{cf.id}.pdf", conditional=True)
    resp.headers["Content-Disposition"] = (f"attachment; filename=\"{cf.id}.pdf\"; "
                                           f"filename*=UTF-8''{quote(cf.archive_number + ' ' + cf.title + '.pdf')}")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.get("/v1/case-files/<case_file_id>/package")
@requires(*ARCHIVISTS)
def package(case_file_id: str):
    path, name = _rt().packages.package(case_file_id)
    resp = send_file(path, mimetype="application/x-tar", as_attachment=True, download_name=name, conditional=True)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@bp.post("/v1/verify")
@bp.post("/v1/verify/signed-revision")
def verify():
    """Public: any copy of a sealed file (multipart `file`, or the PDF as an
    application/pdf body), up to its own bound (a sealed file can be larger
    than any upload). /signed-revision answers with the sealed
    revision itself, cut from the copy sent (so it gives back only bytes the
    caller has): the original of a copy changed after sealing. One endpoint
    for both, so one rate limit counts both."""
    rt = _rt()
    limit = max_verify_bytes(rt.settings.max_upload_bytes)
    uploads = rt.settings.service_dir("archive") / "uploads"
    # multipart `file`, or the PDF itself as the body (application/pdf: no multipart parsing)
    with (parse_body(uploads, limit) if request.mimetype == "application/pdf" else parse_upload(uploads, limit)) as form:
        upload = form.file("file")
        if request.path.endswith("/signed-revision"):
            length, report = rt.verifier.signed_revision(upload.path, upload.sha256)
            fh = open(upload.path, "rb")      # stays readable after the temp file is removed

            def stream():
                with fh:
                    left = length
                    while left > 0:
                        chunk = fh.read(min(left, 1024 * 1024))
                        if not chunk:
                            break
                        left -= len(chunk)
                        yield chunk
            name = (report["signed_revision"] or {}).get("archive_number") or report["archive_number"] or "sealed"
            resp = Response(stream(), mimetype="application/pdf")
            resp.headers["Content-Length"] = str(length)
            resp.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name + '.pdf')}"
            resp.headers["Cache-Control"] = "no-store"
            return resp
        return jsonify(rt.verifier.verify(upload.path, upload.sha256))


@bp.get("/v1/ledger")
@requires(*ARCHIVISTS)
def ledger():
    return jsonify(_rt().ledger.entries(int_arg("after", 0, 0, 2**62), int_arg("limit", 100, 1, 1000)))


@bp.get("/v1/audit")
@requires("admin")
def audit_log():
    after, limit = int_arg("after", 0, 0, 2**62), int_arg("limit", 100, 1, 1000)
    with reading(_rt().case_files.sessions) as session:
        rows = session.execute(select(AuditLog).where(AuditLog.c.seq > after).order_by(AuditLog.c.seq).limit(limit)).all()
        broken = audit.verify_chain(session, AuditLog)
    return jsonify({"intact": broken is None, "broken_at": broken, "entries": [
        {"seq": r.seq, "at": _iso(r.at), "actor": r.actor, "action": r.action, "subject": r.subject,
         "details": r.details, "hash": r.hash} for r in rows]})
