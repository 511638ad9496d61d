"""Decisions published from a generator document (`document_id`): the
record and its text fetched over HTTP, mapped to the decision's fields.

The generator's record (GET /v1/documents/{id}) names type, title, number,
date and agency; the text comes from the document's DOCX. When the record
carries the case data (`data`, the shared vocabulary), party, penalties,
legal basis and facts come from there; otherwise the party is read from the
DOCX's 当事人 lines.
"""
from __future__ import annotations

import io
import re
from pathlib import Path

from shared.http import ServiceClient, UpstreamRefused
from shared.problems import invalid_field

# Generator document types that are decisions, and the kind they publish as.
DECISION_KINDS = {"penalty_decision": "penalty", "license_grant_decision": "license",
                  "license_denial_decision": "other", "license_non_acceptance_decision": "other"}
MAX_DOCX_BYTES = 20 * 1024 * 1024


class GeneratorSource:
    def __init__(self, client: ServiceClient, work_dir: Path):
        self.client = client
        self.work_dir = work_dir

    def __call__(self, document_id: str) -> dict:
        try:
            record = self.client.get_json(f"/v1/documents/{document_id}")
        except UpstreamRefused as refused:
            if refused.upstream_status == 404:
                raise invalid_field("document_id", "文书生成服务中没有该文书。")
            raise
        if record.get("type") not in DECISION_KINDS:
            raise invalid_field("document_id", f"该文书（{record.get('title', record.get('type'))}）不是执法决定，不予公示。")
        path, _sha, _size = self.client.download(f"/v1/documents/{document_id}/docx", self.work_dir, MAX_DOCX_BYTES)
        try:
            return {"record": record, "lines": docx_lines(path.read_bytes())}
        finally:
            path.unlink(missing_ok=True)

    def close(self) -> None:
        self.client.close()


def docx_lines(data: bytes) -> list[str]:
    """The body paragraphs of a generated document (tables, e.g. the verification band, left out)."""
    from docx import Document
    doc = Document(io.BytesIO(data))
    return [p.text.strip() for p in doc.paragraphs if p.text.strip()]


def _after(lines: list[str], *labels: str) -> str:
    for line in lines:
        for label in labels:
            m = re.match(rf"{label}[^：:]*[：:](.+)", line)
            if m:
                return m.group(1).strip()
    return ""


def decision_fields(fetched: dict) -> dict:
    """The decision's fields from a generator record and its DOCX lines."""
    record, lines = fetched["record"], fetched["lines"]
    number = record["number"]
    body_lines = lines[lines.index(number) + 1:] if number in lines else lines
    fields = {"number": number, "kind": DECISION_KINDS[record["type"]], "title": record["title"],
              "agency": record["agency"], "decided_on": record["issued_on"], "document_id": record["id"],
              "text": "\n".join(body_lines)}
    data = record.get("data")
    if isinstance(data, dict):
        return {**fields, **_from_case_data(data)}
    name = _after(body_lines, "当事人", "被许可人", "申请人")
    if not name and body_lines and body_lines[0].endswith(("：", ":")):
        name = body_lines[0][:-1]                         # a decision addressed to the party
    person = bool(_after(body_lines, "身份证", "公民身份号码", "证件号码"))
    party = {"kind": "person" if person else "organization", "name": name}
    if not person:
        party.update(credit_code=_after(body_lines, "统一社会信用代码"),
                     legal_representative=_after(body_lines, "法定代表人"))
    else:
        party["address"] = _after(body_lines, "住址", "住所")
    fields["party"] = {k: v for k, v in party.items() if v}
    if fields["kind"] == "license":
        lic = {"number": _after(body_lines, "许可证件编号", "许可证编号", "许可编号")}
        m = re.search(r"有效期[：:]\s*自(\d{4})年(\d{1,2})月(\d{1,2})日至(\d{4})年(\d{1,2})月(\d{1,2})日", fields["text"])
        if m:
            y1, m1, d1, y2, m2, d2 = map(int, m.groups())
            lic.update(valid_from=f"{y1:04d}-{m1:02d}-{d1:02d}", valid_to=f"{y2:04d}-{m2:02d}-{d2:02d}")
        fields["license"] = {k: v for k, v in lic.items() if v}
        fields["content"] = _after(body_lines, "许可内容")
    return fields


def _from_case_data(data: dict) -> dict:
    decision = data.get("decision") or {}
    party = {k: v for k, v in (data.get("party") or {}).items() if isinstance(v, (str, bool))}
    out = {"party": party, "summary": data.get("facts", ""),
           "legal_basis": decision.get("legal_basis") or [],
           "content": decision.get("content", ""),
           "penalties": [{k: p[k] for k in ("kind", "amount_yuan") if k in p} for p in decision.get("penalties") or []],
           "persons": [h["name"] for h in data.get("handlers") or [] if h.get("name")]}
    if decision.get("license_number") or decision.get("valid_to"):
        out["license"] = {k: v for k, v in (("number", decision.get("license_number")),
                                             ("valid_from", decision.get("valid_from")),
                                             ("valid_to", decision.get("valid_to"))) if v}
    return {k: v for k, v in out.items() if v not in ("", [], {})}


def make_source(settings, work_dir: Path) -> GeneratorSource:
    return GeneratorSource(ServiceClient.for_service(settings, "generator"), work_dir)
