"""Sealing a case file: asked for by a request, done by a job.

The request runs the four-properties check and, when it passes or the
archivist gives a reason, marks the file "sealing" (no more changes) and
enqueues the job. The job assembles and signs outside any transaction,
stores the sealed bytes under their sha256, then in one transaction marks
the file sealed and appends the ledger entry and the audit entry. A job
that fails returns the file to "open" with the error recorded.

The job is recorded in the same transaction as the change to "sealing" (an
outbox row, shared.outbox): if Redis is down the request still answers 202
and the row is handed out when the queue is back; a job whose worker was
killed is handed out again when its lease runs out; one that keeps dying is
given up and the file reopened with the reason. A run first removes what a
killed run of the same file left in the blob store's directory.
"""
from __future__ import annotations

import logging
import re
import shutil
import tempfile
from datetime import timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.archive import ledger
from services.archive.assembly import Assembler, Bound, some
from services.archive.case_files import CaseFileService, require_open
from services.archive.checks import FourProperties, failed_lines
from services.archive.layout import BackNote
from services.archive.models import AuditLog, CaseFile, Outbox
from services.archive.sealing import Sealer
from shared import audit
from shared.blobstore import BlobStore
from shared.dates import chinese_date, today_in_china
from shared.db import lock, reading, transaction
from shared.jobs import Jobs
from shared.outbox import Outbox as OutboxRunner
from shared.outbox import record
from shared.problems import FieldError, Problem, invalid_field
from shared.text import clean

log = logging.getLogger("zhifa.archive.seals")
SEAL_JOB = "services.archive.tasks.seal_case_file"
SEAL_GIVEN_UP = "services.archive.tasks.seal_given_up"
MAX_REASON = 2000


class SealService:
    def __init__(self, sessions: sessionmaker[Session], blobs: BlobStore, case_files: CaseFileService,
                 checks: FourProperties, assembler: Assembler, sealer: Sealer, jobs: Jobs, work_dir: Path,
                 archive_name: str, outbox: OutboxRunner):
        self.sessions = sessions
        self.blobs = blobs
        self.case_files = case_files
        self.checks = checks
        self.assembler = assembler
        self.sealer = sealer
        self.jobs = jobs
        self.work_dir = Path(work_dir)
        self.archive_name = archive_name
        self.outbox = outbox

    def check(self, case_file_id: str) -> dict:
        case_file = self.case_files.get(case_file_id)
        return self._run_checks(case_file)

    def _run_checks(self, case_file: CaseFile) -> dict:
        """The four properties, plus the list of generated documents still without their signed original
        (an integrity listing: the generated text stands in for them until the scans are attached)."""
        result = self.checks.run(case_file, self.case_files.rules_for(case_file))
        unsigned = self.case_files.unsigned_documents(case_file)
        result["checks"].append({
            "property": "integrity", "id": "signed_originals", "name": "签章原件", "passed": True, "status": "passed",
            "detail": ("尚未附签章原件扫描件、以生成文本归档的文书：" + some([f"{i.title}（{i.number or '无文号'}）"
                                                               for i in unsigned]) + "。") if unsigned
            else "每份生成文书均已附签章原件扫描件（或本卷没有生成文书）。"})
        return result

    def request(self, case_file_id: str, body: dict, actor: str) -> CaseFile:
        reason = body.get("override_reason")
        if set(body) - {"override_reason"}:
            raise invalid_field(sorted(set(body) - {"override_reason"})[0], "不允许的字段。")
        if reason is not None:
            if not isinstance(reason, str):
                raise invalid_field("override_reason", "须为文本。")
            reason, errors = clean(reason, "override_reason")
            if errors:
                raise Problem(422, "validation-failed", "请求数据校验未通过", None, errors)
            reason = reason.strip() or None
            if reason and len(reason) > MAX_REASON:
                raise invalid_field("override_reason", f"长度不能超过 {MAX_REASON} 个字符。")
        case_file = self.case_files.get(case_file_id)
        require_open(case_file)
        # The back note is signed by these two: a file sealed without them could never be signed after.
        unsigned = [FieldError(name, f"封存前须填写{label}（可用 PATCH 本案卷补填）。")
                    for name, label in (("compiled_by", "立卷人"), ("checked_by", "检查人"))
                    if not (getattr(case_file, name) or "").strip()]
        if unsigned:
            raise Problem(422, "case-file-unsigned", "案卷缺少立卷人或检查人",
                          "备考表须由立卷人、检查人签名，填写后才能封存。", unsigned)
        result = self._run_checks(case_file)
        if not result["passed"] and not reason:
            raise Problem(409, "checks-failed", "四性检测未通过",
                          "四性检测未通过，须填写封存理由（override_reason）才能封存：" + "；".join(failed_lines(result)),
                          [FieldError("override_reason", "检测未通过时须说明封存理由。")])
        with transaction(self.sessions) as session:
            row = session.get(CaseFile, case_file_id, with_for_update=True)
            require_open(row)
            row.status = "sealing"
            row.override_reason = reason if not result["passed"] else None
            row.checks_at_seal = result
            row.seal_error = None
            row.sealed_by = actor
            audit.append(session, AuditLog, actor, "case_file.seal_requested", case_file_id,
                         {"checks_passed": result["passed"], "override_reason": row.override_reason})
            record(session, Outbox, SEAL_JOB, [case_file_id], on_give_up=SEAL_GIVEN_UP)
        self.outbox.kick()     # queue unreachable: recorded all the same, the drain loop hands it out later
        return self.case_files.get(case_file_id)

    def run(self, case_file_id: str) -> None:
        """The job: assemble, sign, store, record. Does nothing unless the file is "sealing"."""
        case_file = self.case_files.get(case_file_id)
        if case_file.status != "sealing":
            return
        self._remove_partial(case_file_id)
        try:
            sha, size, pages, sealed_at = self._make(case_file)
        except Exception as exc:
            log.exception("sealing case file %s failed", case_file_id)
            with transaction(self.sessions) as session:
                row = session.get(CaseFile, case_file_id)
                if row.status == "sealing":
                    row.status = "open"
                    row.seal_error = public_error(exc)
                    audit.append(session, AuditLog, "archive", "case_file.seal_failed", case_file_id,
                                 {"error": row.seal_error})
            raise
        with transaction(self.sessions) as session:
            row = session.get(CaseFile, case_file_id, with_for_update=True)
            if row.status != "sealing":
                return
            entry = ledger.record(session, case_file_id, row.archive_number, sha)
            row.status, row.sealed_sha256, row.sealed_bytes, row.pages = "sealed", sha, size, pages
            row.sealed_at, row.ledger_seq = sealed_at.astimezone(timezone.utc), entry["seq"]
            audit.append(session, AuditLog, row.sealed_by or "archive", "case_file.sealed", case_file_id,
                         {"sha256": sha, "bytes": size, "ledger_seq": entry["seq"]})

    def resume_pending(self) -> int:
        """Files left "sealing" without a pending job (sealed before the outbox existed, or a row given up
        while the file was being reopened) get one; the drain loop does the rest, in either mode."""
        with reading(self.sessions) as session:
            if not session.execute(select(CaseFile.id).where(CaseFile.status == "sealing").limit(1)).first():
                return 0
        with transaction(self.sessions) as session:
            # Processes starting together must not both add one: two runs of one seal would race.
            lock(session, "archive:resume-seals")
            sealing = session.execute(select(CaseFile.id).where(CaseFile.status == "sealing")).scalars().all()
            queued = {row.args[0] for row in session.execute(
                select(Outbox.c.args).where(Outbox.c.state == "pending", Outbox.c.task == SEAL_JOB)) if row.args}
            missing = [case_file_id for case_file_id in sealing if case_file_id not in queued]
            for case_file_id in missing:
                record(session, Outbox, SEAL_JOB, [case_file_id], on_give_up=SEAL_GIVEN_UP)
        return len(missing)

    def give_up(self, case_file_id: str, reason: str) -> None:
        with transaction(self.sessions) as session:
            row = session.get(CaseFile, case_file_id, with_for_update=True)
            if row is not None and row.status == "sealing":
                row.status = "open"
                row.seal_error = f"封存任务多次中断，已停止重试（{reason}），请检查后重新封存。"[:500]
                audit.append(session, AuditLog, "archive", "case_file.seal_failed", case_file_id,
                             {"error": row.seal_error})
        self._remove_partial(case_file_id)

    def _remove_partial(self, case_file_id: str) -> None:
        """What a killed run of this file left: its temp directory beside the blobs. Called by a run that holds
        the outbox lease, so no other live run of this file owns one."""
        for stale in self.blobs.scratch.glob(f".seal-{case_file_id}-*"):
            shutil.rmtree(stale, ignore_errors=True)
            log.info("removed a killed seal run's partial files for case file %s", case_file_id)

    def _make(self, case_file: CaseFile) -> tuple[str, int, int, object]:
        rules = self.case_files.rules_for(case_file)
        renditions = self.case_files.renditions(case_file)
        bound = [Bound(item, first, last, rules.volume(item), renditions.get(item.id))
                 for item, first, last in self.case_files.bound_items(case_file)]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        # The file is written, sealed in place and moved into the blob store (locally without a
        # copy: the store's scratch directory is on its file system; on S3, uploaded).
        with tempfile.TemporaryDirectory(dir=self.blobs.scratch, prefix=f".seal-{case_file.id}-") as tmp:
            assembled = self.assembler.assemble(case_file, rules.title, bound, self.back_note(case_file, bound),
                                                Path(tmp) / "sealed.pdf")
            sealed_at, sha, size = self.sealer.seal_and_hash(assembled.path, case_file.archive_number,
                                                             assembled.back_note_page, assembled.signature_top_mm)
            self.blobs.adopt(assembled.path, sha)
        return sha, size, assembled.pages, sealed_at

    def back_note(self, case_file: CaseFile, bound: list[Bound]) -> BackNote:
        pages = bound[-1].last if bound else 0
        result = case_file.checks_at_seal or {"passed": True, "checks": []}
        paragraphs = [f"本卷共 {len(bound)} 件、{pages} 页。页号自第一件起连续编写，封面、卷内文件目录和备考表不编页号。"]
        if case_file.notes:
            paragraphs.append(f"说明：{case_file.notes}")
        if result["passed"]:
            paragraphs.append("四性检测（真实性、完整性、可用性、安全性）：全部通过。")
        else:
            paragraphs.append("四性检测未通过项：" + "；".join(failed_lines(result)))
            paragraphs.append(f"经办人说明的封存理由：{case_file.override_reason}")
        for check in result["checks"]:
            if check.get("status") == "not_scanned":
                paragraphs.append(f"恶意代码扫描：{check['detail']}")
            if check.get("id") == "signed_originals" and check["detail"].startswith("尚未"):
                paragraphs.append(check["detail"])
        paragraphs.append(f"每件原件均以关联文件形式嵌入本 PDF，保持原样。本卷由{self.archive_name}以电子印章封存，"
                          "封存后不可更改。")
        return BackNote(case_file.archive_number, paragraphs, case_file.compiled_by or "", case_file.checked_by or "",
                        chinese_date(today_in_china()))


def public_error(exc: Exception) -> str:
    """A job's error as the API shows it: its kind and message without server paths (logged in full)."""
    message = _PATH.sub("…", str(exc))
    return f"{type(exc).__name__}: {message}"[:500]


_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:,;()\[\]]+)+[\\/]?")
