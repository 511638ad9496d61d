"""The DA/T 70 four-properties check (四性检测) of a case file before it is
sealed: authenticity (真实性), integrity (完整性), usability (可用性),
security (安全性). Each check says in Chinese why it passed or failed; a
failed check blocks sealing unless the archivist gives a reason, which is
recorded and printed on the back note."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Callable

import pikepdf
from sqlalchemy.orm import Session, sessionmaker

from services.archive.assembly import missing_caption, mounts_photo, page_geometry, some
from services.archive.binding import CaseTypeRules
from services.archive.inspection import PDFA_RULES, PdfTooComplex, pdfa_conformance, walk_pdf
from services.archive.malware import ClamdScanner
from services.archive.models import AuditLog
from shared.audit import verify_chain
from shared.blobstore import BlobStore
from shared.db import reading
from shared.http import ServiceClient
from shared.problems import Problem

log = logging.getLogger("zhifa.archive.checks")

PROPERTY_NAMES = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}


@dataclass
class Check:
    property: str
    id: str
    name: str
    passed: bool
    detail: str
    status: str = ""        # passed | failed | not_scanned

    def __post_init__(self):
        self.status = self.status or ("passed" if self.passed else "failed")


def summary(checks: list[Check]) -> dict:
    return {"passed": all(c.passed for c in checks), "checks": [asdict(c) for c in checks]}


def failed_lines(result: dict) -> list[str]:
    return [f"{PROPERTY_NAMES[c['property']]}·{c['name']}：{c['detail']}" for c in result["checks"] if not c["passed"]]


class FourProperties:
    def __init__(self, blobs: BlobStore, sessions: sessionmaker[Session], generator: Callable[[], ServiceClient],
                 scanner: ClamdScanner | None):
        self.blobs = blobs
        self.sessions = sessions
        self.generator = generator
        self.scanner = scanner

    def run(self, case_file, rules: CaseTypeRules) -> dict:
        items = list(case_file.items)
        opened, reports, shapes = self._open_all(items)
        checks = [
            *self._authenticity(case_file, items),
            *self._integrity(items, rules, opened), photo_captions(items, shapes),
            *self._usability(items, opened, reports),
            *self._security(items, reports),
        ]
        return summary(checks)

    # -- authenticity -------------------------------------------------------------

    def _authenticity(self, case_file, items) -> list[Check]:
        generated = [i for i in items if i.source == "generator"]
        mismatched, metadata, unreachable = [], [], None
        if generated:
            try:
                with self.generator() as client:
                    for item in generated:
                        record = client.get_json(f"/v1/documents/{item.document_id}")
                        pdf = (record.get("files") or {}).get("pdf") or {}
                        if pdf.get("sha256") != item.original_sha256:
                            mismatched.append(item.title)
                        if record.get("number") != item.number or record.get("title") != item.title:
                            metadata.append(item.title)
            except Problem as problem:
                unreachable = problem.title
        if unreachable:
            registry = Check("authenticity", "registry_digests", "文书摘要值与生成服务登记一致", False,
                             f"无法向生成服务核对：{unreachable}。")
        elif mismatched:
            registry = Check("authenticity", "registry_digests", "文书摘要值与生成服务登记一致", False,
                             f"摘要值与登记不符：{'、'.join(mismatched)}。")
        else:
            registry = Check("authenticity", "registry_digests", "文书摘要值与生成服务登记一致", True,
                             f"{len(generated)} 份生成文书的 SHA-256 与生成服务登记一致。" if generated else "本卷没有生成服务的文书。")
        with ThreadPoolExecutor(max_workers=8) as pool:      # S3: requests side by side
            intact = list(pool.map(self._intact, [i.original_sha256 for i in items]))
        damaged = [i.title for i, ok in zip(items, intact) if not ok]
        stored = Check("authenticity", "stored_digests", "原件摘要值未变", not damaged,
                       f"原件与归档时的 SHA-256 不符或缺失：{'、'.join(damaged)}。" if damaged
                       else f"{len(items)} 件原件的 SHA-256 与归档时一致。")
        decision_numbers = {i.number for i in items if i.category == "decision" and i.number}
        problems = [f"文书题名或文号与登记不符：{'、'.join(metadata)}"] if metadata else []
        if decision_numbers and case_file.decision_number not in decision_numbers:
            problems.append(f"案卷的决定文书号 {case_file.decision_number} 与卷内决定书的文号（{'、'.join(sorted(decision_numbers))}）不一致")
        meta = Check("authenticity", "metadata_matches", "元数据与内容一致", not problems and not unreachable,
                     "；".join(problems) + "。" if problems else
                     ("无法向生成服务核对元数据。" if unreachable else "文书题名、文号与登记一致，案卷决定文书号与卷内决定书一致。"))
        return [registry, stored, meta]

    # -- integrity ----------------------------------------------------------------

    def _integrity(self, items, rules: CaseTypeRules, opened: dict) -> list[Check]:
        present = {i.doc_type for i in items if i.doc_type}
        missing = [alternatives for alternatives in rules.required if not present & set(alternatives)]
        names = TYPE_TITLES
        required = Check("integrity", "required_documents", "必备文书齐全", not missing,
                         "缺少：" + "；".join("或".join(names.get(t, t) for t in alt) for alt in missing) + "。" if missing
                         else f"{rules.title}的必备文书齐全。")
        wrong_pages = [i.title for i in items if i.pdf_sha256 and opened.get(i.id) is not None
                       and opened[i.id] != i.pages]
        pages = sum(i.pages for i in items)
        counts = Check("integrity", "counts", "件数、页数相符", bool(items) and not wrong_pages,
                       "案卷中没有任何文件。" if not items else
                       (f"页数与登记不符：{'、'.join(wrong_pages)}。" if wrong_pages else f"共 {len(items)} 件、{pages} 页，与登记相符。"))
        positions = sorted(i.position for i in items)
        gaps = positions != list(range(1, len(items) + 1))
        lacking = [i.title for i in items if not i.date or (i.kind == "document" and not i.author)]
        numbering = Check("integrity", "no_gaps", "编号连续、元数据完整", not gaps and not lacking,
                          ("件号不连续。" if gaps else "") + (f"缺少日期或责任者：{'、'.join(lacking)}。" if lacking else "")
                          or "件号连续，每件均有题名、日期，文书均有责任者。")
        return [required, counts, numbering]

    # -- usability ----------------------------------------------------------------

    def _usability(self, items, opened: dict, reports: dict) -> list[Check]:
        broken = [i.title for i in items if i.pdf_sha256 and opened.get(i.id) is None]
        opens = Check("usability", "opens", "每件均可打开", not broken,
                      f"无法打开：{'、'.join(broken)}。" if broken else "每件文件均可正常打开读取。")
        fonts = [f"{i.title}（{'、'.join(i.inspection.get('unembedded_fonts', []))}）" for i in items
                 if (i.inspection or {}).get("unembedded_fonts")]
        embedded = Check("usability", "fonts_embedded", "字体已嵌入", not fonts,
                         f"以下文件使用了未嵌入的字体，在其他计算机上可能显示不同：{'；'.join(fonts)}。" if fonts
                         else "所有 PDF 使用的字体均已嵌入。")
        return [opens, embedded, Check("usability", "no_encryption", "未加密", True,
                                       "所有文件均未加密（加密文件在接收时即被拒绝）。"), self._pdfa(items, reports)]

    def _pdfa(self, items, reports: dict) -> Check:
        """PDF/A rules per item PDF (inspection.pdfa_conformance); the detail
        names the rules checked, since this is not a full veraPDF validation."""
        claimed, plain, broken = 0, 0, []
        for item in items:
            if not item.pdf_sha256:
                continue
            _, report = reports[item.id]
            if isinstance(report, str):
                broken.append(f"{item.title}（无法检查：{report}）")
                continue
            claimed, plain = claimed + bool(report.claim), plain + (not report.claim)
            if report.problems:
                broken.append(f"{item.title}（{'PDF/A-' + report.claim + '：' if report.claim else ''}"
                              f"{'；'.join(report.problems)}）")
        checked = "；".join(PDFA_RULES.values())
        scope = (f"{claimed} 件声明 PDF/A 的文件按全部规则检查，{plain} 件未声明 PDF/A 的文件（扫描件等）"
                 f"按字体、加密、主动内容规则检查（封存文件整体声明 PDF/A-3B，文档级要求由封存文件提供）。"
                 f"以 pikepdf 检查的规则：{checked}。未使用 veraPDF，不是完整的符合性验证。")
        if broken:
            return Check("usability", "pdfa_conformance", "PDF/A 长期保存规则", False,   # short: printed on the back note
                         f"不符合：{'；'.join(broken)}。（以 pikepdf 检查 {len(PDFA_RULES)} 项规则，非 veraPDF 完整验证）")
        return Check("usability", "pdfa_conformance", "PDF/A 长期保存规则", True, f"均符合。{scope}")

    # -- security -----------------------------------------------------------------

    def _security(self, items, reports: dict) -> list[Check]:
        active, unchecked, objects, pdfs = [], [], 0, 0
        for item in items:
            if not item.pdf_sha256:
                continue
            graph, _ = reports[item.id]
            if isinstance(graph, str):
                unchecked.append(f"{item.title}（{graph}）")
                continue
            pdfs, objects = pdfs + 1, objects + graph.nodes
            if graph.active:
                active.append(f"{item.title}（{'、'.join(sorted(graph.active))}）")
        what = ("JavaScript（含名称树、附加动作、动作链）、启动/提交表单/导入数据/打开其他文件的动作、非网页链接、"
                "XFA、富媒体与多媒体、嵌入文件（可执行文件、压缩包中的可执行文件、含宏的 Office 文件）")
        detail = (f"含有主动内容：{'；'.join(active)}。" if active else "") + \
                 (f"无法完整检查：{'；'.join(unchecked)}。" if unchecked else "")
        if detail:      # short: printed on the back note
            return [Check("security", "active_content", "无主动内容", False, detail),
                    *self._security_rest(items)]
        no_active = Check("security", "active_content", "无主动内容", True,
                          f"已检查 {pdfs} 个 PDF 的全部 {objects} 个字典、数组和流对象，查找：{what}。"
                          + (f"{sum(1 for i in items if not i.pdf_sha256)} 件音视频原件不是 PDF，不在此项之列（见恶意代码扫描）。"
                             if any(not i.pdf_sha256 for i in items) else ""))
        return [no_active, *self._security_rest(items)]

    def _security_rest(self, items) -> list[Check]:
        with reading(self.sessions) as session:
            broken = verify_chain(session, AuditLog)
        logged = Check("security", "process_logged", "过程已记录", broken is None,
                       f"审计日志在第 {broken} 条处断链。" if broken else "归档全过程记录于哈希链审计日志，链条完整。")
        return [self._malware(items), logged]

    def _malware(self, items) -> Check:
        if self.scanner is None:
            # A check that did not run is not a pass: sealing then needs the archivist's reason.
            return Check("security", "malware_scan", "恶意代码扫描", False,
                         "未扫描（检测未执行）：未配置恶意代码扫描服务（ZHIFA_CLAMD）。", status="not_scanned")
        infected, errors = [], []
        for item in items:
            # Unchecked: a damaged original is the stored_digests check's finding, and is scanned all the same.
            result = self.scanner.scan(self.blobs.iter_chunks(item.original_sha256, checked=False))
            if result.signature:
                infected.append(f"{item.title}（{result.signature}）")
            elif not result.clean:
                errors.append(f"{item.title}（{result.error}）")
        if infected:
            return Check("security", "malware_scan", "恶意代码扫描", False, f"发现恶意代码：{'、'.join(infected)}。")
        if errors:
            return Check("security", "malware_scan", "恶意代码扫描", False, f"扫描未完成：{'、'.join(errors)}。")
        return Check("security", "malware_scan", "恶意代码扫描", True, f"clamd 扫描 {len(items)} 件原件，未发现恶意代码。")

    def _intact(self, sha: str) -> bool:
        return self.blobs.exists(sha) and self.blobs.verify(sha)

    def _open_all(self, items) -> tuple[dict, dict, dict]:
        """Page count of each item's PDF rendition, or None when it does not
        open; its (object graph, PDF/A report), or the reason they could
        not be made; a photo's page sizes (each PDF is opened once)."""
        counts, reports, shapes = {}, {}, {}
        # Fetched side by side when the blobs are on S3 (one after the other took seconds for a hundred).
        with self.blobs.local_copies((i.pdf_sha256 for i in items if i.pdf_sha256), skip_damaged=True) as files:
            for item in items:
                if item.pdf_sha256:
                    self._open_one(item, files[item.pdf_sha256], counts, reports, shapes)
        return counts, reports, shapes

    @staticmethod
    def _open_one(item, path, counts: dict, reports: dict, shapes: dict) -> None:
        try:
            if path is None:
                raise OSError("missing or damaged")
            with pikepdf.open(path) as pdf:
                counts[item.id] = None if pdf.is_encrypted else len(pdf.pages)
                if item.category == "photo" and not pdf.is_encrypted:
                    shapes[item.id] = [page_geometry(page)[:2] for page in pdf.pages]
                try:
                    graph = walk_pdf(pdf)
                    reports[item.id] = (graph, pdfa_conformance(pdf, graph))
                except (pikepdf.PdfError, PdfTooComplex, RecursionError, ValueError) as exc:
                    reports[item.id] = (str(exc), str(exc))
        except (pikepdf.PdfError, OSError):
            counts[item.id] = None
            reports[item.id] = ("无法打开", "无法打开")


# Titles of the generator's document types, for messages about missing ones.
TYPE_TITLES = {
    "license_acceptance_notice": "受理通知书", "license_grant_decision": "准予行政许可决定书",
    "license_denial_decision": "不予行政许可决定书", "service_receipt": "送达回证",
    "case_filing_form": "立案审批表", "penalty_prior_notice": "行政处罚事先告知书",
    "penalty_decision": "行政处罚决定书", "case_closing_form": "结案审批表",
    "license_non_acceptance_decision": "不予受理决定书", "legal_review_opinion": "重大行政执法决定法制审核意见书",
}


def photo_captions(items, shapes: dict) -> Check:
    """A photo mounted with blanks in its 照片说明 is an incomplete record (照片档案 practice): a failed
    check, so sealing needs a reason and the back note names the photos (ten, and a count)."""
    photos = [i for i in items if i.id in shapes and mounts_photo(i, shapes[i.id])]
    lacking = [f"{i.title}（缺{'、'.join(missing)}）" for i in photos if (missing := missing_caption(i))]
    if lacking:
        return Check("integrity", "photo_captions", "照片说明", False, f"{len(lacking)} 张照片的说明不全：{some(lacking, '；')}。")
    return Check("integrity", "photo_captions", "照片说明", True,
                 f"{len(photos)} 张照片均有题名、拍摄时间、拍摄地点、拍摄人和证明对象。" if photos else "本卷没有需装裱的照片。")
