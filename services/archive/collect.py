"""One-click case file: every document the generator issued for the case.

The generator answers a case's documents by its case number (GET
/v1/documents?case_number=, paged); each is added the way an archivist adds
one (CaseFileService.add_document: fetched, sha256-checked against the
generator's registry, checked to belong to this case), in binding order.
Collecting again adds only what is new; a document that cannot join (its PDF
not made yet, another party, dated after closing) is reported with the
reason and the rest are added. The archivist then adds the evidence.
"""
from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

from services.archive.case_files import CaseFileService, require_open, served_number
from shared.dates import parse_iso_date
from shared.http import ServiceClient
from shared.problems import Problem, invalid_field

PAGE_SIZE = 200
MAX_DOCUMENTS = 2000        # a case with more is not a case file one click should bind


class Collector:
    def __init__(self, case_files: CaseFileService, generator: Callable[[], ServiceClient]):
        self.case_files = case_files
        self.generator = generator

    def collect(self, case_file_id: str, body: dict, actor: str) -> dict:
        extra = sorted(set(body) - {"case_number"})
        if extra:
            raise invalid_field(extra[0], "不允许的字段。")
        given = body.get("case_number")
        if given is not None and (not isinstance(given, str) or not given.strip() or len(given) > 100):
            raise invalid_field("case_number", "案件编号须为 1–100 个字符的文本。")
        case_file = self.case_files.get(case_file_id)
        require_open(case_file)
        number = (given or case_file.case_number or "").strip()
        if not number:
            raise invalid_field("case_number", "案卷未登记案件编号：请在请求中给出 case_number。")
        records = self._documents_of(number)
        present = {i.document_id for i in case_file.items if i.document_id}
        rules = self.case_files.rules.get(case_file.case_type)
        new = [r for r in records if r["id"] not in present]
        ordered = rules.order([SimpleNamespace(
            record=r, category=rules.category_of(r.get("type", "")), doc_type=r.get("type"),
            date=parse_iso_date(r.get("issued_on")), position=i, pages=1, number=r.get("number"),
            refers_to=served_number(r)) for i, r in enumerate(new)])
        added, refused = [], []
        for entry in ordered:
            record = entry.record
            try:
                item = self.case_files.add_document(case_file_id, {"document_id": record["id"]}, actor)
            except Problem as problem:
                if problem.type == "item-exists":       # a concurrent collection added it
                    continue
                refused.append({"document_id": record["id"], "number": record.get("number"),
                                "title": record.get("title"), "status": problem.status, "reason": problem.title,
                                "detail": problem.detail})
                continue
            added.append({"item_id": item.id, "document_id": record["id"], "number": item.number,
                          "title": item.title})
        return {"case_number": number, "found": len(records), "added": added,
                "already_present": [r["id"] for r in records if r["id"] in present], "refused": refused}

    def _documents_of(self, case_number: str) -> list[dict]:
        records, page = [], 1
        with self.generator() as client:
            while True:
                answer = client.get_json("/v1/documents", params={"case_number": case_number, "page": page,
                                                                  "size": PAGE_SIZE})
                batch = answer.get("documents") if isinstance(answer, dict) else None
                if not isinstance(batch, list):
                    raise Problem(502, "upstream-bad-answer", "文书生成服务答复有误", "文书列表的答复无法使用。")
                records += [r for r in batch if isinstance(r, dict) and isinstance(r.get("id"), str)]
                if len(records) > MAX_DOCUMENTS:
                    raise invalid_field("case_number", f"该案件的文书超过 {MAX_DOCUMENTS} 份，请逐份加入。")
                if len(batch) < PAGE_SIZE or len(records) >= int(answer.get("total") or 0):
                    return records
                page += 1
