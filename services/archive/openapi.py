"""OpenAPI 3.1 description of the archive's v1 contract (served at /openapi.json)."""
from __future__ import annotations

from services.archive.api import ARCHIVISTS
from services.archive.inspection import MEDIA_TYPES
from services.archive.case_files import CASE_FILE_SCHEMA, CASE_FILE_UPDATE_SCHEMA, ITEM_META_SCHEMA
from shared.openapi import (BODY_PROBLEMS, PROBLEM, RATE_LIMITED, base_spec, operation, path_param, query_param,
                            response)

_ID = [path_param("id")]
# Refusals of a query argument out of its range (shared.paging.int_arg) and of an unknown case file.
_BAD_ARG = {"422": PROBLEM}
_NO_FILE = {"404": PROBLEM}
# A posted file: malformed (400), past its bound (413), not multipart nor PDF (415), fields missing or wrong (422).
_UPLOAD_PROBLEMS = {**BODY_PROBLEMS, "415": PROBLEM}
_SEQ = [query_param("after", {"type": "integer", "minimum": 0, "maximum": 2**62}),
        query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000})]
_CHAIN = {"type": "object", "required": ["intact", "entries"], "properties": {
    "intact": {"type": "boolean"}, "broken_at": {"type": ["integer", "null"]},
    "entries": {"type": "array", "items": {"type": "object", "properties": {"seq": {"type": "integer"}}}}}}
_MULTIPART_FILE = {"type": "object", "required": ["file"], "properties": {"file": {"type": "string", "format": "binary"}}}

SPEC = base_spec("zhifa archive 电子档案服务",
                 "案卷组卷、四性检测、电子印章封存、核验与移交（BagIt + DA/T 48 EEP）。")
SPEC["components"]["schemas"].update({
    "CaseFileRequest": CASE_FILE_SCHEMA,
    "CaseFileUpdate": CASE_FILE_UPDATE_SCHEMA,
    "ItemMeta": ITEM_META_SCHEMA,
    "Item": {"type": "object", "required": ["id", "seq", "kind"], "properties": {
        "id": {"type": "string"}, "seq": {"type": "integer"}, "kind": {"enum": ["document", "evidence"]},
        "category": {"type": ["string", "null"]}, "title": {"type": ["string", "null"]},
        "sha256": {"type": ["string", "null"]}, "bytes": {"type": ["integer", "null"]}, "pages": {"type": ["integer", "null"]},
        "page_range": {"type": "array", "items": {"type": "integer"}}, "original_url": {"type": "string"}}},
    "CaseFileList": {"type": "object", "required": ["total", "page", "size", "case_files"], "properties": {
        "total": {"type": "integer"}, "page": {"type": "integer"}, "size": {"type": "integer"},
        "case_files": {"type": "array", "items": {"$ref": "#/components/schemas/CaseFile"}}}},
    "Ledger": _CHAIN,
    "AuditLog": _CHAIN,
    "CaseFile": {"type": "object", "properties": {
        "id": {"type": "string"}, "status": {"enum": ["open", "sealing", "sealed"]},
        "archive_number": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}},
        "seal": {"type": "object"}, "pdf_url": {"type": "string"}, "package_url": {"type": "string"}}},
    "Checks": {"type": "object", "properties": {
        "passed": {"type": "boolean"}, "checks": {"type": "array", "items": {"type": "object", "properties": {
            "property": {"enum": ["authenticity", "integrity", "usability", "security"]}, "id": {"type": "string"},
            "name": {"type": "string"}, "passed": {"type": "boolean"}, "detail": {"type": "string"},
            "status": {"enum": ["passed", "failed", "not_scanned"],
                       "description": "not_scanned：检测未执行，不算通过（passed 为 false）"}}}}}},
    "Verification": {"type": "object", "properties": {
        "valid": {"type": "boolean"}, "intact": {"type": "boolean"}, "modified_after_seal": {"type": ["boolean", "null"]},
        "ours": {"type": "boolean"}, "signed_by": {"type": ["string", "null"]}, "sealed_at": {"type": ["string", "null"]},
        "case_file_id": {"type": ["string", "null"]}, "archive_number": {"type": ["string", "null"]},
        "ledger": {"type": "object", "properties": {"found": {"type": "boolean"}, "sequence": {"type": ["integer", "null"]}}},
        "sha256": {"type": "string"}, "bytes": {"type": "integer"},
        "changes": {"type": "array", "items": {"type": "string"},
                    "description": "封存后的改动（页面内容、批注、页数、文档目录……）；valid 为 false"},
        "signed_revision": {"type": ["object", "null"], "description": "副本中封存版本的长度与摘要值：截取前 bytes 字节即封存原件",
                            "properties": {"bytes": {"type": "integer"}, "sha256": {"type": "string"},
                                           "ledger_found": {"type": "boolean"},
                                           "archive_number": {"type": ["string", "null"]}}},
        "algorithm": {"type": ["string", "null"],
                      "description": "印章的签名算法：SM2-with-SM3（国密印章），或 CMS 的算法名（如 sha256_rsa）"},
        "findings": {"type": "array", "items": {"type": "string"}}}},
})
SPEC["paths"] = {
    "/v1/case-files": {
        "post": operation("createCaseFile", "建立案卷", {"201": response("已建立", "CaseFile"), "409": PROBLEM},
                          roles=ARCHIVISTS, body_schema_ref="CaseFileRequest"),
        "get": operation("listCaseFiles", "案卷列表", {"200": response("案卷", "CaseFileList"), **_BAD_ARG}, roles=ARCHIVISTS,
                         parameters=[query_param("status", {"enum": ["open", "sealing", "sealed"]}),
                                     query_param("page", {"type": "integer", "minimum": 1, "maximum": 10000}),
                                     query_param("size", {"type": "integer", "minimum": 1, "maximum": 100})])},
    "/v1/case-files/{id}": {"get": operation("getCaseFile", "案卷及卷内文件（装订顺序）",
                                             {"200": response("案卷", "CaseFile"), **_NO_FILE}, roles=ARCHIVISTS, parameters=_ID),
                            "patch": operation("updateCaseFile", "补填立卷人、检查人、备注、密级、立卷单位（未封存时）",
                                               {"200": response("案卷", "CaseFile"), **_NO_FILE, "409": PROBLEM, "422": PROBLEM},
                                               roles=ARCHIVISTS, parameters=_ID, body_schema_ref="CaseFileUpdate")},
    "/v1/case-files/{id}/items": {"post": {
        **operation("addItem", "加入生成的文书（JSON）或上传的文件（multipart：file + meta）",
                    {"201": response("已加入", "Item"), **_UPLOAD_PROBLEMS, **_NO_FILE, "409": PROBLEM,
                     "502": PROBLEM, "503": PROBLEM}, roles=ARCHIVISTS, parameters=_ID),
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": {"type": "object", "required": ["document_id"],
                                            "properties": {"document_id": {"type": "string"}}}},
            "multipart/form-data": {"schema": {"type": "object", "required": ["file", "meta"], "properties": {
                "file": {"type": "string", "format": "binary"}, "meta": {"type": "string"}}}}}}}},
    "/v1/case-files/{id}/items/{item_id}/original": {"get": operation(
        "getItemOriginal", "下载卷内文件的原件（上传的原文件或生成服务的 PDF）",
        {"200": {"description": "原件（其媒体类型）", "content": {t: {} for t in sorted(set(MEDIA_TYPES.values()))}},
         "404": PROBLEM}, roles=ARCHIVISTS,
        parameters=_ID + [path_param("item_id")])},
    "/v1/case-files/{id}/checks": {"get": operation("getChecks", "四性检测", {"200": response("检测结果", "Checks"), **_NO_FILE},
                                                    roles=ARCHIVISTS, parameters=_ID)},
    "/v1/case-files/{id}/seal": {"post": operation(
        "sealCaseFile", "封存（作业；已记录，Redis 暂不可用时稍后执行）",
        {"202": response("已受理", "CaseFile"), **_NO_FILE, "409": PROBLEM, "422": PROBLEM}, roles=ARCHIVISTS, parameters=_ID,
        body_schema={"type": "object", "properties": {"override_reason": {"type": "string"}}})},
    "/v1/case-files/{id}/pdf": {"get": operation(
        "getSealedPdf", "下载封存的 PDF",
        {"200": {"description": "PDF", "content": {"application/pdf": {}}}, **_NO_FILE, "409": PROBLEM},
        roles=ARCHIVISTS, parameters=_ID)},
    "/v1/case-files/{id}/package": {"get": operation(
        "getPackage", "移交包（BagIt，tar）",
        {"200": {"description": "tar", "content": {"application/x-tar": {}}}, **_NO_FILE, "409": PROBLEM},
        roles=ARCHIVISTS, parameters=_ID)},
    "/v1/verify": {"post": {
        **operation("verifyCopy", "核验任一副本（公开）：multipart 的 file，或以 application/pdf 直接提交 PDF",
                    {"200": response("核验结果", "Verification"), **_UPLOAD_PROBLEMS, **RATE_LIMITED}),
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": _MULTIPART_FILE},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}},
    "/v1/verify/signed-revision": {"post": {
        **operation("getSignedRevision", "从提交的副本中截取本档案馆封存的版本（公开，与核验共用限流）",
                    {"200": {"description": "封存版本（PDF）", "content": {"application/pdf": {}}},
                     **_UPLOAD_PROBLEMS, **RATE_LIMITED}),
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": _MULTIPART_FILE},
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}},
    "/v1/ledger": {"get": operation("getLedger", "封存台账（哈希链）", {"200": response("台账", "Ledger"), **_BAD_ARG},
                                    roles=ARCHIVISTS, parameters=_SEQ)},
    "/v1/audit": {"get": operation("getAuditLog", "全过程记录", {"200": response("审计日志", "AuditLog"), **_BAD_ARG},
                                   roles=("admin",), parameters=_SEQ)},
}


def build_spec() -> dict:
    return SPEC


# One-click case file (collect.py): the generator's documents of the case.
SPEC["components"]["schemas"]["Collected"] = {
    "type": "object", "required": ["case_number", "found", "added", "already_present", "refused"], "properties": {
        "case_number": {"type": "string"}, "found": {"type": "integer"},
        "added": {"type": "array", "items": {"type": "object", "properties": {
            "item_id": {"type": "string"}, "document_id": {"type": "string"},
            "number": {"type": ["string", "null"]}, "title": {"type": "string"}}}},
        "already_present": {"type": "array", "items": {"type": "string"}},
        "refused": {"type": "array", "items": {"type": "object"}}}}
SPEC["paths"]["/v1/case-files/{id}/collect"] = {"post": operation(
    "collectCaseDocuments", "一键归集：按案件编号从文书生成服务取回本案全部文书（按装订顺序，幂等）",
    {"200": response("加入、已在卷内与未能加入的文书", "Collected"), "404": PROBLEM, "409": PROBLEM,
     "502": PROBLEM, "503": PROBLEM}, roles=ARCHIVISTS, parameters=_ID,
    body_schema={"type": "object", "additionalProperties": False,
                 "properties": {"case_number": {"type": "string", "minLength": 1, "maxLength": 100}}})}
