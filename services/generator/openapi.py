"""OpenAPI 3.1 description of the generator's v1 contract (served at /openapi.json).

The request body of POST /v1/documents is described per document type from
the catalogue's JSON Schemas, so clients and API fuzzers see the real rules.
"""
from __future__ import annotations

import copy
import json

from services.generator.catalogue import Catalogue

PROBLEM = {"description": "问题详情（RFC 9457）",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
BEARER = [{"bearer": []}]
# What every authenticated operation may answer besides its own responses.
AUTH_PROBLEMS = {"401": PROBLEM, "403": PROBLEM}
BODY_PROBLEMS = {"400": PROBLEM, "413": PROBLEM, "422": PROBLEM}


def _resp(description: str, schema_ref: str | None = None) -> dict:
    body = {"description": description}
    if schema_ref:
        body["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}
    return body


SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "zhifa generator 执法文书生成服务", "version": "1.0.0",
             "description": "按文书目录校验案件数据，编号、计算法定期限，生成 DOCX/PDF 执法文书。"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {
                "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object", "properties": {
                    "path": {"type": "string"}, "message": {"type": "string"}}}}}},
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
                "verification_code": {"type": "string"},
                "files": {"type": "object", "additionalProperties": {"type": "object", "properties": {
                    "url": {"type": "string"}, "sha256": {"type": "string"}, "bytes": {"type": "integer"}}}}}},
            "Batch": {"type": "object", "properties": {
                "id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "partial", "failed"]},
                "total": {"type": "integer"}, "done": {"type": "integer"}, "failed": {"type": "integer"},
                "documents": {"type": "array", "items": {"type": "object"}}}},
            "Verification": {"type": "object", "properties": {
                "authentic": {"type": "boolean"}, "type": {"type": "string"}, "title": {"type": "string"},
                "issued_at": {"type": "string"}, "agency": {"type": "string"}, "sha256": {"type": "string"}}},
        },
    },
    "paths": {
        "/v1/templates": {"get": {"operationId": "listTemplates", "summary": "文书目录", "responses": {"200": _resp("文书类型列表")}}},
        "/v1/templates/{type}": {"get": {
            "operationId": "getTemplate",
            "summary": "文书类型的 JSON Schema 与示例",
            "parameters": [{"name": "type", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("类型、标题、schema、示例"), "404": PROBLEM}}},
        "/v1/documents": {"post": {
            "operationId": "createDocument",
            "summary": "生成一份文书", "security": BEARER,
            "parameters": [{"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/DocumentRequest"}}}},
            "responses": {"201": {**_resp("已生成", "Document"), "links": {
                              op: {"operationId": op, "parameters": {"id": "$response.body#/id"}}
                              for op in ("getDocument", "getDocumentDocx", "getDocumentPdf")}},
                          "200": _resp("幂等重放", "Document"),
                          "400": PROBLEM, "401": PROBLEM, "403": PROBLEM, "413": PROBLEM, "422": PROBLEM}}},
        "/v1/documents/{id}": {"get": {
            "operationId": "getDocument",
            "summary": "文书登记信息", "security": BEARER,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("文书", "Document"), "404": PROBLEM, **AUTH_PROBLEMS}}},
        "/v1/documents/{id}/docx": {"get": {"operationId": "getDocumentDocx", "summary": "下载 DOCX", "security": BEARER,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "DOCX 文件"}, "404": PROBLEM, **AUTH_PROBLEMS}}},
        "/v1/documents/{id}/pdf": {"get": {"operationId": "getDocumentPdf", "summary": "下载 PDF/A-2b", "security": BEARER,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "PDF 文件"}, "404": PROBLEM, **AUTH_PROBLEMS}}},
        "/v1/batches": {"post": {
            "operationId": "createBatch",
            "summary": "批量生成", "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["documents"], "properties": {
                    "documents": {"type": "array", "items": {"$ref": "#/components/schemas/DocumentRequest"}},
                    "formats": {"type": "array", "items": {"enum": ["docx", "pdf"]}}}}}}},
            "responses": {"202": _resp("已受理，轮询 status_url"), **BODY_PROBLEMS, **AUTH_PROBLEMS}}},
        "/v1/batches/{id}": {"get": {
            "operationId": "getBatch",
            "summary": "批次进度", "security": BEARER,
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("进度", "Batch"), "404": PROBLEM, **AUTH_PROBLEMS}}},
        "/v1/audit": {"get": {
            "operationId": "getAuditLog", "summary": "全过程记录（哈希链审计日志）", "security": BEARER,
            "parameters": [{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
                           {"name": "limit", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}],
            "responses": {"200": _resp("日志条目与链是否完整"), "422": PROBLEM, **AUTH_PROBLEMS}}},
        "/v1/verify": {"get": {
            "operationId": "verifyDocument",
            "summary": "文书真伪核验（公开）",
            "parameters": [{"name": "number", "in": "query", "required": True, "schema": {"type": "string"}},
                           {"name": "code", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _resp("核验结果", "Verification"), "422": PROBLEM}}},
    },
}


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
                                        "formats": {"type": "array", "minItems": 1,
                                                    "items": {"enum": ["docx", "pdf"]}}}})
    schemas["DocumentRequest"] = {"oneOf": variants}
    return spec
