"""Case files (案卷) and their items: opened, filled, read.

Every write checks that the file is still open, inside the transaction that
writes: a file being sealed or sealed never changes (409). Slow work (the
generator's download, inspecting an upload, converting a scan) happens
before that transaction, and its results go into the blob store first, so a
refused or failed item leaves no row behind (a blob without a row is
harmless: content-addressed and unreferenced).
"""
from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from jsonschema import Draft202012Validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from services.archive import inspection
from services.archive.binding import BindingRules, CaseTypeRules, default_category, page_ranges
from services.archive.models import AuditLog, CaseFile, Item
from shared import audit
from shared.blobstore import BlobStore
from shared.dates import CHINA, ISO_DATE, parse_iso_date
from shared.db import reading, transaction
from shared.http import ServiceClient, UpstreamRefused
from shared.problems import FieldError, Problem, conflict, invalid, invalid_field, not_found
from shared.schema import schema_errors
from shared.text import clean

RETENTIONS = ("永久", "30年", "10年")
SECRECY = ("非密", "内部", "秘密", "机密", "绝密")       # 密级 on the cover (GB/T 9705); 非密 unless given
PARTY_SCHEMA = {   # DESIGN.md's shared vocabulary, as the generator's documents carry it
    "type": "object", "additionalProperties": False, "required": ["kind", "name"],
    "properties": {
        "kind": {"enum": ["person", "organization"]},
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "id_type": {"type": "string", "maxLength": 50}, "id_number": {"type": "string", "maxLength": 50},
        "credit_code": {"type": "string", "maxLength": 50},
        "legal_representative": {"type": "string", "maxLength": 100},
        "address": {"type": "string", "maxLength": 300}, "phone": {"type": "string", "maxLength": 50},
    },
}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
_DATE = {"type": "string", "pattern": ISO_DATE.pattern}

CASE_FILE_SCHEMA = {
    "type": "object", "additionalProperties": False,
    "required": ["archive_number", "fonds", "fonds_name", "title", "case_type", "party", "decision_number",
                 "handling_unit", "opened_on", "closed_on", "retention"],
    "properties": {
        "archive_number": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[0-9A-Za-z·\-\u4e00-\u9fff]+$"},
        "fonds": {"type": "string", "minLength": 1, "maxLength": 50},
        "fonds_name": _TEXT,
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "case_type": {"type": "string"},
        "party": PARTY_SCHEMA, "case_number": {"type": "string", "minLength": 1, "maxLength": 100},
        "decision_number": {"type": "string", "minLength": 1, "maxLength": 100},
        "secrecy": {"enum": list(SECRECY)}, "filing_unit": _TEXT,
        "variant": {"type": "string", "maxLength": 30},
        "handling_unit": _TEXT, "opened_on": _DATE, "closed_on": _DATE,
        "retention": {"enum": list(RETENTIONS)},
        "compiled_by": {"type": "string", "maxLength": 100}, "checked_by": {"type": "string", "maxLength": 100},
        "notes": {"type": "string", "maxLength": 2000},
    },
}
ITEM_META_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["title", "kind"],
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "kind": {"enum": ["document", "evidence"]},
        "category": {"type": "string"},
        "date": _DATE, "author": {"type": "string", "maxLength": 200},
        "number": {"type": "string", "maxLength": 100},
        "signed_original_of": {"type": "string", "minLength": 1, "maxLength": 100},
        # 照片说明 of a photo (题名 is the title; 时间 is taken_at, else the date).
        "taken_at": {"type": "string", "maxLength": 40},
        "place": {"type": "string", "maxLength": 200}, "photographer": {"type": "string", "maxLength": 100},
        "proves": {"type": "string", "maxLength": 300},
    },
}
# What may change while a file is open: the people and notes of the cover and back note.
CASE_FILE_UPDATE_SCHEMA = {
    "type": "object", "additionalProperties": False, "minProperties": 1,
    "properties": {name: CASE_FILE_SCHEMA["properties"][name]
                   for name in ("compiled_by", "checked_by", "notes", "secrecy", "filing_unit")},
}
_CASE_FILE_VALIDATOR = Draft202012Validator(CASE_FILE_SCHEMA)
_CASE_FILE_UPDATE_VALIDATOR = Draft202012Validator(CASE_FILE_UPDATE_SCHEMA)
_ITEM_META_VALIDATOR = Draft202012Validator(ITEM_META_SCHEMA)
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class CaseFileService:
    def __init__(self, sessions: sessionmaker[Session], blobs: BlobStore, rules: BindingRules,
                 generator: Callable[[], ServiceClient], work_dir: Path, max_upload_bytes: int):
        self.sessions = sessions
        self.blobs = blobs
        self.rules = rules
        self.generator = generator
        self.work_dir = Path(work_dir)
        self.max_upload_bytes = max_upload_bytes

    # -- case files --------------------------------------------------------------

    def create(self, body: dict, actor: str) -> CaseFile:
        body, errors = clean(body, "")
        errors += schema_errors(_CASE_FILE_VALIDATOR, body, "")
        errors = [FieldError(e.path.lstrip("/"), e.message) for e in errors]   # top-level names: "party"
        if not errors and self.rules.get(body["case_type"]) is None:
            errors.append(FieldError("case_type", f"案卷类型应为以下之一：{'、'.join(self.rules.case_types())}。"))
        elif not errors and body.get("variant") is not None:
            names = self.rules.get(body["case_type"]).variant_names()
            if body["variant"] not in names:
                errors.append(FieldError("variant", f"办理结果应为以下之一：{'、'.join(names) or '（本类型无）'}。"))
        opened, closed = parse_iso_date(body.get("opened_on")), parse_iso_date(body.get("closed_on"))
        for name, value in (("opened_on", opened), ("closed_on", closed)):
            if body.get(name) is not None and value is None and not any(e.path == name for e in errors):
                errors.append(FieldError(name, "日期格式应为 YYYY-MM-DD 且为有效日期。"))
        if opened and closed and closed < opened:
            errors.append(FieldError("closed_on", "结案日期不能早于立案（受理）日期。"))
        if errors:
            raise invalid(errors)
        case_file = CaseFile(
            id=str(uuid.uuid4()), archive_number=body["archive_number"], fonds=body["fonds"],
            fonds_name=body["fonds_name"], title=body["title"], case_type=body["case_type"],
            party=body["party"]["name"], party_detail=body["party"], case_number=body.get("case_number"),
            secrecy=body.get("secrecy", "非密"), variant=body.get("variant"), filing_unit=body.get("filing_unit") or body["handling_unit"],
            decision_number=body["decision_number"], handling_unit=body["handling_unit"], opened_on=opened,
            closed_on=closed, retention=body["retention"], compiled_by=body.get("compiled_by"),
            checked_by=body.get("checked_by"), notes=body.get("notes"), created_at=now(), created_by=actor,
            status="open")
        with transaction(self.sessions) as session:
            taken = session.execute(select(CaseFile.id).where(CaseFile.archive_number == case_file.archive_number)).first()
            if taken:
                raise conflict("archive-number-taken", "档号已被使用", f"档号 {case_file.archive_number} 已属于另一案卷。")
            session.add(case_file)
            audit.append(session, AuditLog, actor, "case_file.open", case_file.id,
                         {"archive_number": case_file.archive_number, "case_type": case_file.case_type})
        return case_file

    def update(self, case_file_id: str, body: dict, actor: str) -> CaseFile:
        """立卷人, 检查人, notes, 密级, 立卷单位 of an open file (a file can be sealed only with both names)."""
        body, errors = clean(body, "")
        errors += schema_errors(_CASE_FILE_UPDATE_VALIDATOR, body, "")
        if errors:
            raise invalid([FieldError(e.path.lstrip("/") or "body", e.message) for e in errors])
        with transaction(self.sessions) as session:
            row = session.get(CaseFile, case_file_id, with_for_update=True)
            if row is None:
                raise not_found("案卷")
            require_open(row)
            for name, value in body.items():
                setattr(row, name, value.strip() or None if isinstance(value, str) and name != "secrecy" else value)
            audit.append(session, AuditLog, actor, "case_file.update", case_file_id, {"fields": sorted(body)})
        return self.get(case_file_id)

    def get(self, case_file_id: str) -> CaseFile:
        with reading(self.sessions) as session:
            case_file = session.execute(
                select(CaseFile).options(selectinload(CaseFile.items)).where(CaseFile.id == case_file_id)
            ).scalar_one_or_none()
        if case_file is None:
            raise not_found("案卷")
        return case_file

    def list(self, offset: int, limit: int, status: str | None = None) -> tuple[int, list[CaseFile]]:
        query = select(CaseFile)
        if status:
            query = query.where(CaseFile.status == status)
        with reading(self.sessions) as session:
            total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = session.execute(query.order_by(CaseFile.created_at.desc(), CaseFile.archive_number)
                                   .offset(offset).limit(limit)).scalars().all()
        return total, list(rows)

    def rules_for(self, case_file: CaseFile) -> CaseTypeRules:
        """The case type's rules, with the required documents of this file's flow (variant)."""
        return self.rules.get(case_file.case_type).for_file((i.doc_type for i in case_file.items), case_file.variant)

    def bound_items(self, case_file: CaseFile) -> list[tuple[Item, int, int]]:
        """Items in binding order with their page ranges (content pages count from 1). A generated document
        with a signed original is not bound itself: the scan is, in its place (see renditions())."""
        signed = {i.signs_item_id for i in case_file.items if i.signs_item_id}
        ordered = self.rules_for(case_file).order([i for i in case_file.items if i.id not in signed])
        return [(item, first, last) for item, (first, last) in zip(ordered, page_ranges([i.pages for i in ordered]))]

    @staticmethod
    def renditions(case_file: CaseFile) -> dict[str, Item]:
        """{signed original's item id: the generated document it is the signed original of}."""
        by_id = {i.id: i for i in case_file.items}
        return {i.id: by_id[i.signs_item_id] for i in case_file.items if i.signs_item_id in by_id}

    @staticmethod
    def unsigned_documents(case_file: CaseFile) -> list[Item]:
        """Generated documents still without the scan of their signed and stamped original."""
        signed = {i.signs_item_id for i in case_file.items if i.signs_item_id}
        return [i for i in case_file.items if i.source == "generator" and i.id not in signed]

    # -- items ---------------------------------------------------------------------

    def add_document(self, case_file_id: str, body: dict, actor: str) -> Item:
        """A generated document, fetched from the generator; its PDF's sha256
        must match the generator's registry."""
        document_id = body.get("document_id")
        if set(body) - {"document_id"}:
            raise invalid_field(sorted(set(body) - {"document_id"})[0], "不允许的字段。")
        if not isinstance(document_id, str) or not re.fullmatch(r"[0-9a-fA-F-]{36}", document_id):
            raise invalid_field("document_id", "须为生成服务的文书 id（UUID）。")
        case_file = self._open(case_file_id)
        with self.generator() as client:
            try:
                record = client.get_json(f"/v1/documents/{document_id}")
            except UpstreamRefused as refusal:
                if refusal.upstream_status == 404:
                    raise invalid_field("document_id", "生成服务中没有该文书。")
                raise
            pdf = (record.get("files") or {}).get("pdf") or {}
            if pdf.get("status") != "done" or not pdf.get("sha256"):
                raise Problem(409, "document-pdf-not-ready", "文书的 PDF 尚未生成",
                              "生成服务尚未生成该文书的 PDF，请稍后重试。", [FieldError("document_id", "PDF 尚未生成。")])
            path, sha, size = client.download(f"/v1/documents/{document_id}/pdf?wait=30", self.work_dir,
                                              self.max_upload_bytes)
        try:
            if sha != pdf["sha256"]:
                raise Problem(502, "document-hash-mismatch", "文书内容与生成服务的登记不符",
                              "下载的 PDF 的 SHA-256 与生成服务登记的不一致，未予归档。",
                              [FieldError("document_id", "文书摘要值不符。")])
            pages, report = inspection.inspect_pdf(path)
            self.blobs.put_file(path)
        finally:
            path.unlink(missing_ok=True)
        belongs_here(case_file, record, "document_id")
        rules = self.rules_for(case_file)
        item = Item(id=str(uuid.uuid4()), case_file_id=case_file_id, kind="document",
                    category=rules.category_of(record.get("type", "")), source="generator",
                    doc_type=record.get("type"), document_id=document_id, title=record.get("title") or "文书",
                    number=record.get("number"), author=record.get("agency"), refers_to=served_number(record),
                    date=parse_iso_date(record.get("issued_on")), format="pdf", media_type="application/pdf",
                    filename=None, original_sha256=sha, original_bytes=size, registry_sha256=pdf["sha256"],
                    pdf_sha256=sha, pages=pages, inspection=report, added_at=now(), added_by=actor)
        return self._insert(item, actor, duplicate_of=document_id)

    def add_upload(self, case_file_id: str, upload, meta: dict, actor: str) -> Item:
        """An uploaded file (see inspection.py for what is refused)."""
        meta, errors = clean(meta, "meta")
        errors += schema_errors(_ITEM_META_VALIDATOR, meta, "meta")
        case_file = self._open(case_file_id)
        rules = self.rules_for(case_file)
        if not errors and meta.get("category") is not None and meta["category"] not in rules.categories:
            errors.append(FieldError("meta/category", f"类别应为以下之一：{'、'.join(rules.categories)}。"))
        item_date = parse_iso_date(meta.get("date")) if meta.get("date") is not None else None
        if meta.get("date") is not None and item_date is None and not any(e.path == "meta/date" for e in errors):
            errors.append(FieldError("meta/date", "日期格式应为 YYYY-MM-DD 且为有效日期。"))
        if item_date is not None and item_date > case_file.closed_on:
            errors.append(FieldError("meta/date", after_closing(item_date, case_file)))
        signed = None
        if not errors and meta.get("signed_original_of") is not None:
            signed, message = signed_target(case_file, meta["signed_original_of"])
            if message:
                errors.append(FieldError("meta/signed_original_of", message))
            elif meta["kind"] != "document":
                errors.append(FieldError("meta/kind", "签章原件是文书：kind 应为 document。"))
            elif meta.get("number") and _norm_number(meta["number"]) != _norm_number(signed.number):
                errors.append(FieldError("meta/number", f"与所附文书的文号 {signed.number} 不同。"))
        taken_at = None
        if not errors:
            taken_at = caption_errors(meta, case_file, errors)
        if errors:
            raise invalid(errors)
        found = inspection.inspect(upload.path, upload.size, upload.filename, upload.content_type)
        if signed is not None and found.family not in ("pdf", "image"):
            raise invalid_field("file", "签章原件应为扫描件（PDF 或图像），不能是音视频。")
        category = signed.category if signed else meta.get("category") or default_category(meta["kind"], found.format)
        if category != "photo" and (taken_at or any(meta.get(k) for k in CAPTION_KEYS)):
            name = next(k for k in ("taken_at", *CAPTION_KEYS) if meta.get(k))
            raise invalid_field(f"meta/{name}", "照片说明只用于照片（category 为 photo）。")
        original_sha, size = self.blobs.put_file(upload.path)
        pdf_sha = original_sha if found.family == "pdf" else (self.blobs.put(found.rendition) if found.rendition else None)
        # A signed original takes its generated document's place: its type, group, number, author, date and
        # the decision it serves.
        item = Item(id=str(uuid.uuid4()), case_file_id=case_file_id, kind=meta["kind"] if signed is None else "document",
                    category=category,
                    source="upload", doc_type=signed.doc_type if signed else None, document_id=None, title=meta["title"],
                    number=(signed.number if signed else None) or meta.get("number") or None,
                    author=meta.get("author") or (signed.author if signed else None),
                    date=item_date or (signed.date if signed else None), signs_item_id=signed.id if signed else None,
                    refers_to=signed.refers_to if signed else None,      # a signed 送达回证 still follows its decision
                    caption={**({"taken_at": taken_at} if taken_at else {}),
                             **{k: meta[k].strip() for k in CAPTION_KEYS if meta.get(k)}} or None,
                    format=found.format, media_type=found.media_type, filename=display_name(upload.filename),
                    original_sha256=original_sha, original_bytes=size, registry_sha256=None, pdf_sha256=pdf_sha,
                    pages=found.pages, duration_seconds=found.duration_seconds, inspection=found.report,
                    added_at=now(), added_by=actor)
        return self._insert(item, actor)

    def _open(self, case_file_id: str) -> CaseFile:
        case_file = self.get(case_file_id)
        require_open(case_file)
        return case_file

    def _insert(self, item: Item, actor: str, duplicate_of: str | None = None) -> Item:
        with transaction(self.sessions) as session:
            case_file = session.get(CaseFile, item.case_file_id, with_for_update=True)
            require_open(case_file)
            if duplicate_of and session.execute(select(Item.id).where(
                    Item.case_file_id == item.case_file_id, Item.document_id == duplicate_of)).first():
                raise conflict("item-exists", "文书已在案卷中", "该文书已加入本案卷，不能重复加入。")
            if item.signs_item_id and session.execute(select(Item.id).where(
                    Item.case_file_id == item.case_file_id, Item.signs_item_id == item.signs_item_id)).first():
                raise conflict("signed-original-exists", "该文书已有签章原件", "该文书的签章原件已上传，不能重复上传。")
            last = session.execute(select(func.max(Item.position)).where(Item.case_file_id == item.case_file_id)).scalar()
            item.position = (last or 0) + 1
            session.add(item)
            audit.append(session, AuditLog, actor, "case_file.item", item.case_file_id,
                         {"item": item.id, "title": item.title, "source": item.source,
                          "sha256": item.original_sha256, "bytes": item.original_bytes})
        return item


# -- 一案一卷: each item belongs to this case -------------------------------------

_BRACKETS = str.maketrans({"[": "〔", "]": "〕", "［": "〔", "］": "〕", "【": "〔", "】": "〕", "(": "〔", ")": "〕",
                           "（": "〔", "）": "〕", "〈": "〔", "〉": "〕"})


def _norm(value) -> str:
    """Compare as a person reads: full-width and half-width alike, no spaces, letters in one case."""
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()


def _norm_number(value) -> str:
    """Document and case numbers: 〔2026〕, [2026], （2026） and 【2026】 are one number."""
    return _norm(value).translate(_BRACKETS)


def same_party(ours: dict, theirs: dict) -> bool:
    """By unified social credit code when both have one, else by ID number, else by name."""
    for key in ("credit_code", "id_number"):
        if _norm(ours.get(key)) and _norm(theirs.get(key)):
            return _norm(ours.get(key)) == _norm(theirs.get(key))
    return _norm_number(ours.get("name")) == _norm_number(theirs.get("name"))


def after_closing(day, case_file: CaseFile) -> str:
    return f"日期 {day.isoformat()} 晚于案卷的结案日期 {case_file.closed_on.isoformat()}：一案一卷，结案后的文书不能归入本卷。"


def signed_target(case_file: CaseFile, number: str) -> tuple[Item | None, str | None]:
    """The generated document of this file whose number is `number` (as written anywhere: brackets,
    full width, spaces), or whose id (the archive's or the generator's) it is; or why none."""
    key = number.strip().lower()
    matches = [i for i in case_file.items if i.source == "generator" and (
        (i.number and _norm_number(i.number) == _norm_number(number)) or (key and key in (i.id, (i.document_id or "").lower())))]
    if not matches:
        return None, f"本卷中没有文号为 {number} 的生成文书：先加入该文书，再上传其签章原件。"
    if len(matches) > 1:
        return None, f"本卷中有多份文号为 {number} 的生成文书。"
    if any(i.signs_item_id == matches[0].id for i in case_file.items):
        return None, f"文号为 {number} 的文书已有签章原件。"
    return matches[0], None


# -- 照片说明 ---------------------------------------------------------------------------

CAPTION_KEYS = ("place", "photographer", "proves")
_TAKEN_AT = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


def caption_errors(meta: dict, case_file: CaseFile, errors: list[FieldError]) -> str | None:
    """Check a photo's caption fields (blank is no caption; 时间 a real moment, not in the future, not after
    the file was closed); append a FieldError each; the normalised 拍摄时间 ("YYYY-MM-DD[ HH:MM]")."""
    for key in CAPTION_KEYS:
        if meta.get(key) is not None and not meta[key].strip():
            errors.append(FieldError(f"meta/{key}", "不能为空白：不知道时请不填。"))
    raw = meta.get("taken_at")
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", raw).strip()       # full-width digits, ：and －
    match = _TAKEN_AT.fullmatch(text)
    day = parse_iso_date(match.group(1)) if match else None
    hour, minute, second = (int(v or 0) for v in match.groups()[1:]) if match else (0, 0, 0)
    if day is None or hour > 23 or minute > 59 or second > 59:
        errors.append(FieldError("meta/taken_at", "拍摄时间应为 YYYY-MM-DD 或 YYYY-MM-DD HH:MM，且为真实的日期和时刻。"))
        return None
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=CHINA)
    if moment > datetime.now(CHINA):
        errors.append(FieldError("meta/taken_at", "拍摄时间不能晚于现在。"))
    elif day > case_file.closed_on:
        errors.append(FieldError("meta/taken_at", after_closing(day, case_file)))
    return day.isoformat() + (f" {hour:02d}:{minute:02d}" if match.group(2) else "")


def served_number(record: dict) -> str | None:
    """The number of the document a 送达回证 served (its data.service.document_number)."""
    service = (record.get("data") or {}).get("service") if isinstance(record.get("data"), dict) else None
    number = service.get("document_number") if isinstance(service, dict) else None
    return str(number)[:100] if isinstance(number, str) and number.strip() else None


def belongs_here(case_file: CaseFile, record: dict, field: str) -> None:
    """A generated document's party, case number and date against the file's (一案一卷); 422 naming
    `field` with each disagreement."""
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    problems = []
    party = data.get("party")
    if case_file.party_detail and isinstance(party, dict) and not same_party(case_file.party_detail, party):
        problems.append(f"文书的当事人（{party.get('name') or '未载明'}）与案卷当事人（{case_file.party}）不是同一当事人")
    case = data.get("case")
    number = case.get("number") if isinstance(case, dict) else None
    if case_file.case_number and number and _norm_number(number) != _norm_number(case_file.case_number):
        problems.append(f"文书的案件编号（{number}）与案卷的案件编号（{case_file.case_number}）不同")
    issued = parse_iso_date(record.get("issued_on")) if isinstance(record.get("issued_on"), str) else None
    if issued is not None and issued > case_file.closed_on:
        problems.append(after_closing(issued, case_file).rstrip("。"))
    if problems:
        raise Problem(422, "not-this-case", "文书不属于本案卷",
                      "一案一卷：" + "；".join(problems) + "。", [FieldError(field, p) for p in problems])


def require_open(case_file: CaseFile) -> None:
    if case_file.status == "sealed":
        raise conflict("case-file-sealed", "案卷已封存", "已封存的案卷不能再修改。")
    if case_file.status != "open":
        raise conflict("case-file-sealing", "案卷正在封存", "案卷正在组卷封存，暂不能修改。")


def display_name(filename: str) -> str | None:
    """The client's file name for display: no directories, no control characters, bounded."""
    name = _UNSAFE_NAME.sub("", filename or "").strip()
    return name[:255] or None
