"""OpenAPI 3.1 description of the generator's v1 contract (served at /openapi.json).

The request body of POST /v1/documents is described per document type from
the catalogue's JSON Schemas, so clients and API fuzzers see the real rules.
"""
from __future__ import annotations

import copy
import json

from services.generator.catalogue import Catalogue
from services.generator.api import MEDIA_TYPES, READERS
from shared.openapi import PROBLEM, RATE_LIMITED, base_spec, operation, path_param, query_param, response

_ID = [path_param("id")]

SPEC = base_spec("zhifa generator 执法文书生成服务",
                 "按文书目录校验案件数据，编号、计算法定期限，生成 DOCX/PDF 执法文书。")
SPEC["components"]["schemas"].update({
    "DocumentRequest": {"type": "object", "required": ["type", "data"], "additionalProperties": False,
                        "properties": {"type": {"type": "string"}, "data": {"type": "object"},
                                       "formats": {"type": "array", "items": {"enum": ["docx", "pdf"]}}}},
    "Document": {"type": "object", "properties": {
        "id": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"},
        "number": {"type": "string"}, "issued_on": {"type": "string", "format": "date"},
        "issued_at": {"type": "string", "format": "date-time"},
        "deadlines": {"type": "array", "items": {"type": "object", "properties": {
            "key": {"type": "string"}, "name": {"type": "string"},
            "due_on": {"type": "string", "format": "date"}, "basis": {"type": "string"}}}},
        "agency": {"type": "string"}, "data": {"type": "object"}, "case_number": {"type": ["string", "null"]},
        "warnings": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"}}}},
        "verification_code": {"type": "string"},
        "files": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            # The PDF is made from the stored DOCX after the number: pending, done or failed.
            "status": {"enum": ["pending", "done", "failed"]},
            "url": {"type": "string"}, "sha256": {"type": "string"}, "bytes": {"type": "integer"}}}}}},
    "Batch": {"type": "object", "properties": {
        "id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "partial", "failed"]},
        "total": {"type": "integer"}, "done": {"type": "integer"}, "failed": {"type": "integer"},
        "documents": {"type": "array", "items": {"type": "object"}}}},
    "TemplateSummary": {"type": "object", "required": ["type", "title"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "flow": {"type": ["string", "null"]},
        "version": {"type": ["string", "integer", "null"]}}},
    "Template": {"allOf": [{"$ref": "#/components/schemas/TemplateSummary"}, {
        "type": "object", "required": ["schema", "example"],
        "properties": {"schema": {"type": "object"}, "example": {"type": "object"}}}]},
    "BatchAccepted": {"type": "object", "required": ["id", "status_url"], "properties": {
        "id": {"type": "string"}, "status_url": {"type": "string"}}},
    "AuditLog": {"type": "object", "required": ["intact", "entries"], "properties": {
        "intact": {"type": "boolean"}, "broken_at": {"type": ["integer", "null"]},
        "entries": {"type": "array", "items": {"type": "object", "properties": {
            "seq": {"type": "integer"}, "at": {"type": "string"}, "actor": {"type": "string"},
            "action": {"type": "string"}}}}}},
    "Verification": {"type": "object", "properties": {
        "authentic": {"type": "boolean"}, "type": {"type": "string"}, "title": {"type": "string"},
        "issued_at": {"type": "string"}, "agency": {"type": "string"}, "sha256": {"type": "string"}}},
})


def _document_or_pdf(description: str) -> dict:
    document = response(description, "Document")
    document["content"]["application/pdf"] = {}
    document["headers"] = {"Location": {"description": "文书登记信息的地址", "schema": {"type": "string"}}}
    return document


SPEC["paths"] = {
    "/v1/templates": {"get": operation("listTemplates", "文书目录", {"200": {
        "description": "文书类型列表", "content": {"application/json": {"schema": {
            "type": "array", "items": {"$ref": "#/components/schemas/TemplateSummary"}}}}}})},
    "/v1/templates/{type}": {"get": operation(
        "getTemplate", "文书类型的 JSON Schema 与示例",
        {"200": response("类型、标题、schema、示例", "Template"), "404": PROBLEM}, parameters=[path_param("type")])},
    "/v1/documents": {"post": operation(
        "createDocument", "生成一份文书", roles=("case-system",), body_schema_ref="DocumentRequest",
        parameters=[{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
                    {"name": "Prefer", "in": "header", "schema": {"enum": ["respond-async"]},
                     "description": "respond-async：不等待 PDF 生成即返回（files.pdf.status 为 pending）"}],
        responses={"201": {**_document_or_pdf("已生成（Accept: application/pdf 时为 PDF 本身，文书地址见 Location）"),
                           "links": {op: {"operationId": op, "parameters": {"id": "$response.body#/id"}}
                                     for op in ("getDocument", "getDocumentDocx", "getDocumentPdf")}},
                   "200": _document_or_pdf("幂等重放")})},
    "/v1/documents/{id}": {"get": operation(
        "getDocument", "文书登记信息", {"200": response("文书", "Document"), "404": PROBLEM},
        roles=READERS, parameters=_ID)},
    "/v1/documents/{id}/docx": {"get": operation(
        "getDocumentDocx", "下载 DOCX", {"200": {"description": "DOCX 文件", "content": {MEDIA_TYPES["docx"]: {}}},
                                         "404": PROBLEM},
        roles=READERS, parameters=_ID)},
    "/v1/documents/{id}/pdf": {
        "get": operation(
            "getDocumentPdf", "下载 PDF/A-2b",
            {"200": {"description": "PDF 文件", "content": {"application/pdf": {}}}, "404": PROBLEM, "422": PROBLEM,
             "503": {**PROBLEM, "description": "PDF 尚在生成或生成失败（Retry-After）"}},
            roles=READERS, parameters=_ID + [query_param("wait", {"type": "integer", "minimum": 0, "maximum": 30})]),
        "post": operation(
            "retryDocumentPdf", "重新生成失败的 PDF（文号不变）",
            {"202": response("已重新排队", "Document"), "200": response("PDF 已存在", "Document"), "404": PROBLEM},
            roles=("case-system",), parameters=_ID)},
    "/v1/batches": {"post": operation(
        "createBatch", "批量生成", {"202": response("已受理，轮询 status_url", "BatchAccepted")}, roles=("case-system",),
        body_schema={"type": "object", "required": ["documents"], "properties": {
            "documents": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentRequest"}},
            "formats": {"type": "array", "items": {"enum": ["docx", "pdf"]}}}})},
    "/v1/batches/{id}": {"get": operation(
        "getBatch", "批次进度", {"200": response("进度", "Batch"), "404": PROBLEM}, roles=("case-system",), parameters=_ID)},
    "/v1/audit": {"get": operation(
        "getAuditLog", "全过程记录（哈希链审计日志）", {"200": response("日志条目与链是否完整", "AuditLog"), "422": PROBLEM},
        roles=("admin",), parameters=[query_param("after", {"type": "integer", "minimum": 0}),
                               query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000})])},
    "/v1/verify": {"get": operation(
        "verifyDocument", "文书真伪核验（公开）",
        {"200": response("核验结果", "Verification"), "422": PROBLEM, **RATE_LIMITED},
        parameters=[query_param("number", required=True), query_param("code", required=True)])},
}


# The documents of a case, for the archive's one-click case file.
SPEC["paths"]["/v1/documents"]["get"] = operation(
    "listCaseDocuments", "一个案件的全部文书（按案件编号，分页）",
    {"200": response("文书列表", "CaseDocuments"), "422": PROBLEM}, roles=("archivist", "case-system"),
    parameters=[query_param("case_number", {"type": "string", "minLength": 1, "maxLength": 100}, required=True),
                query_param("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                query_param("size", {"type": "integer", "minimum": 1, "maximum": 200})])
SPEC["components"]["schemas"]["CaseDocuments"] = {"type": "object", "properties": {
    "case_number": {"type": "string"}, "total": {"type": "integer"}, "page": {"type": "integer"},
    "size": {"type": "integer"}, "documents": {"type": "array", "items": {"$ref": "#/components/schemas/Document"}}}}
CASE_NUMBER = {"type": "string", "minLength": 1, "maxLength": 100, "description": "办案系统案件编号（缺省取 data.case.number）"}
SPEC["components"]["schemas"]["DocumentRequest"]["properties"]["case_number"] = CASE_NUMBER


def build_spec(catalogue: Catalogue) -> dict:
    """SPEC with each document type's data schema under components/schemas."""
    spec = copy.deepcopy(SPEC)
    schemas = spec["components"]["schemas"]
    variants = []
    for t in catalogue:
        name = f"data.{t.type}"
        schema = {k: v for k, v in t.schema.items() if k != "$schema"}
        # Local refs ("#/$defs/party") must point into this component once embedded.
        schema = json.loads(json.dumps(schema).replace('"#/$defs/', f'"#/components/schemas/{name}/$defs/'))
        schemas[name] = schema
        variants.append({"type": "object", "required": ["type", "data"], "additionalProperties": False,
                         "title": t.title,
                         "properties": {"type": {"const": t.type}, "data": {"$ref": f"#/components/schemas/{name}"},
                                        "case_number": CASE_NUMBER,
                                        "formats": {"type": "array", "minItems": 1,
                                                    "items": {"enum": ["docx", "pdf"]}}}})
    schemas["DocumentRequest"] = {"oneOf": variants}
    return spec
