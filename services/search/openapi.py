"""OpenAPI 3.1 description of the search service's v1 contract (served at /openapi.json)."""
from __future__ import annotations

import copy

from services.search.decisions import DECISION_SCHEMA
from shared.openapi import PROBLEM, RATE_LIMITED, base_spec, operation, path_param, query_param, response

_NUMBER = [path_param("number")]
_DATE = {"type": "string", "format": "date"}

SPEC = base_spec("zhifa search 行政执法决定公示服务",
                 "发布（脱敏）、检索、撤下行政执法决定；公示统计与“双公示”数据导出。")
_request = {k: v for k, v in copy.deepcopy(DECISION_SCHEMA).items() if k != "$schema"}
SPEC["components"]["schemas"].update({
    "DecisionRequest": _request,
    "Published": {"type": "object", "properties": {
        "number": {"type": "string"}, "status": {"enum": ["published"]}, "public_url": {"type": "string"},
        "publish_until": _DATE, "redactions": {"type": "object", "additionalProperties": {"type": "integer"}}}},
    "Decision": {"type": "object", "properties": {
        "number": {"type": "string"}, "kind": {"enum": ["license", "penalty", "other"]}, "title": {"type": "string"},
        "agency": {"type": "string"}, "party": {"type": "string"}, "party_kind": {"type": "string"},
        "decided_on": _DATE, "publish_until": _DATE, "summary": {"type": "string"},
        "legal_basis": {"type": "array", "items": {"type": "string"}}, "content": {"type": "string"},
        "text": {"type": "string"}, "disclosure": {"type": "object"}, "public_url": {"type": "string"}}},
    "SearchResult": {"type": "object", "properties": {
        "total": {"type": "integer"},
        "total_approximate": {"type": "boolean", "description": "true：匹配极多且有筛选条件，total 为抽样估计数"},
        "page": {"type": "integer"}, "size": {"type": "integer"},
        "hits": {"type": "array", "items": {"type": "object", "properties": {
            "number": {"type": "string"}, "title": {"type": "string"}, "kind": {"type": "string"},
            "agency": {"type": "string"}, "party": {"type": "string"}, "decided_on": _DATE,
            "snippet": {"type": "string", "description": "HTML：已转义的文本，命中处以 <mark> 标出"}}}},
        "facets": {"type": "object", "properties": {k: {"type": "object", "additionalProperties": {"type": "integer"}}
                                                    for k in ("kind", "agency", "year")}},
        "facets_approximate": {"type": "boolean", "description": "true：匹配极多，分面计数为抽样估计数"},
        "ranked_within": {"type": ["integer", "null"],
                          "description": "按相关度排序时只在最新的这么多件匹配结果中排序（匹配极多时）"},
        "next": {"type": ["string", "null"], "description": "sort=date 时下一页的翻页标记（after）"}}},
})
SPEC["components"]["schemas"].update({
    "Preview": {"type": "object", "required": ["publishable"], "properties": {
        "publishable": {"type": "boolean"}, "problem": {"$ref": "#/components/schemas/Problem"},
        "decision": {"$ref": "#/components/schemas/Decision"},
        "fields": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "text": {"type": "string"}, "marked": {"type": "string"}, "spans": {"type": "array"}}}},
        "redactions": {"type": "object", "additionalProperties": {"type": "integer"}},
        "adjustments": {"type": "array"}, "digest": {"type": "string"}}},
    "Withdrawn": {"type": "object", "required": ["number", "status"], "properties": {
        "number": {"type": "string"}, "status": {"enum": ["withdrawn"]}, "reason": {"type": ["string", "null"]}}},
    "Stats": {"type": "object", "required": ["year", "total", "by_kind", "monthly"], "properties": {
        "year": {"type": "integer"}, "total": {"type": "integer"},
        "by_kind": {"type": "object", "additionalProperties": {"type": "integer"}},
        "monthly": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": {"type": "integer"}}},
        "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
        "fines_wan": {"type": "number"}, "withdrawn": {"type": "array"}}},
    "Export": {"type": "array", "items": {"type": "object", "required": ["kind", "fields"], "properties": {
        "kind": {"enum": ["license", "penalty", "other"]},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
    "AuditLog": {"type": "object", "required": ["intact", "entries"], "properties": {
        "intact": {"type": "boolean"}, "broken_at": {"type": ["integer", "null"]},
        "entries": {"type": "array", "items": {"type": "object", "properties": {"seq": {"type": "integer"}}}}}},
})
_CSV = {"text/csv": {"schema": {"type": "string"}}}
# With a document_id the fields come from the generator: unreachable (503), or refusing or answering wrongly (502).
_UPSTREAM = {"502": {**PROBLEM, "description": "文书生成服务拒绝了请求或答复有误"},
             "503": {**PROBLEM, "description": "文书生成服务暂不可用"}}
SPEC["paths"] = {
    "/v1/decisions": {"post": operation(
        "publishDecision", "发布（或按文号替换）一件决定", roles=("publisher",), body_schema_ref="DecisionRequest",
        responses={"201": response("已发布", "Published"), "200": response("已替换同文号的决定", "Published"),
                   **_UPSTREAM})},
    "/v1/decisions/preview": {"post": operation(
        "previewDecision", "预览脱敏结果（标出每处隐去的内容及规则）", roles=("publisher",), body_schema_ref="DecisionRequest",
        responses={"200": response("脱敏预览", "Preview"), **_UPSTREAM})},
    "/v1/decisions/{number}": {
        "get": operation("getDecision", "公示的决定（已脱敏）",
                         {"200": response("决定", "Decision"), "404": PROBLEM, "410": PROBLEM}, parameters=_NUMBER),
        "delete": operation("withdrawDecision", "撤下公示（须说明理由）",
                            {"200": response("已撤下", "Withdrawn"), "404": PROBLEM, "422": PROBLEM}, roles=("publisher",), parameters=_NUMBER,
                            body_schema={"type": "object", "required": ["reason"],
                                         "properties": {"reason": {"type": "string", "minLength": 1}}})},
    "/v1/search": {"get": operation(
        "searchDecisions", "检索公示的决定",
        {"200": response("检索结果", "SearchResult"), "422": PROBLEM, **RATE_LIMITED},
        parameters=[query_param("q"), query_param("kind", {"enum": ["license", "penalty", "other"]}),
                    query_param("agency"), query_param("from", _DATE), query_param("to", _DATE),
                    query_param("sort", {"enum": ["relevance", "date"]}),
                    query_param("page", {"type": "integer", "minimum": 1}),
                    query_param("size", {"type": "integer", "minimum": 1, "maximum": 50}),
                    query_param("after")])},
    "/v1/stats": {"get": operation(
        "getStats", "年度公示统计（各月各类别数量）",
        {"200": {"description": "统计（JSON，或 format=csv 时各月各类别数量的 CSV）",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Stats"}}, **_CSV}},
         "422": PROBLEM},
        parameters=[query_param("year", {"type": "integer", "minimum": 2000, "maximum": 2100}),
                    query_param("format", {"enum": ["json", "csv"]})])},
    "/v1/export": {"get": operation(
        "exportDecisions", "导出公示中的决定的“双公示”字段",
        {"200": {"description": "JSON，或 CSV（须指定 kind）",
                 "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Export"}}, **_CSV}},
         "422": PROBLEM},
        parameters=[query_param("kind", {"enum": ["license", "penalty", "other"]}),
                    query_param("format", {"enum": ["json", "csv"]})])},
    "/v1/audit": {"get": operation(
        "getAuditLog", "全过程记录（哈希链审计日志）", {"200": response("日志条目与链是否完整", "AuditLog"), "422": PROBLEM},
        roles=("admin",), parameters=[query_param("after", {"type": "integer", "minimum": 0}),
                               query_param("limit", {"type": "integer", "minimum": 1, "maximum": 1000})])},
}

# Pending publications (pending.py): the generator's notices, the publishers' list.
from services.search.pending import NOTICE_SCHEMA, STATUSES  # noqa: E402

_PENDING_ID = [path_param("document_id")]
SPEC["components"]["schemas"].update({
    "PendingNotice": copy.deepcopy(NOTICE_SCHEMA),
    "Pending": {"type": "object", "properties": {
        "document_id": {"type": "string"}, "number": {"type": "string"}, "type": {"type": "string"},
        "title": {"type": "string"}, "kind": {"enum": ["license", "penalty", "other"]}, "agency": {"type": "string"},
        "party": {"type": "string"}, "case_number": {"type": ["string", "null"]}, "decided_on": _DATE,
        "due_on": _DATE, "basis": {"type": "string"}, "status": {"enum": list(STATUSES)},
        "overdue": {"type": "boolean"}, "days_past_due": {"type": "integer"},
        "published_number": {"type": ["string", "null"]}, "withheld_reason": {"type": ["string", "null"]}}},
})
SPEC["components"]["schemas"]["PendingList"] = {
    "type": "object", "required": ["status", "total", "page", "size", "entries"], "properties": {
        "status": {"enum": list(STATUSES)}, "total": {"type": "integer"}, "page": {"type": "integer"},
        "size": {"type": "integer"}, "entries": {"type": "array", "items": {"$ref": "#/components/schemas/Pending"}}}}
SPEC["paths"].update({
    "/v1/pending": {
        "post": operation("addPending", "登记待公示的决定（文书生成服务调用；按文书 id 幂等）", roles=("case-system",),
                          body_schema_ref="PendingNotice",
                          responses={"201": response("已登记", "Pending"), "200": response("已登记过", "Pending")}),
        "get": operation("listPending", "待公示、已逾期、已公示或不予公示的决定（公示员）",
                         {"200": response("列表", "PendingList"), "422": PROBLEM}, roles=("publisher",),
                         parameters=[query_param("status", {"enum": list(STATUSES)}),
                                     query_param("page", {"type": "integer", "minimum": 1}),
                                     query_param("size", {"type": "integer", "minimum": 1, "maximum": 200})])},
    "/v1/pending/{document_id}/publish": {"post": operation(
        "publishPending", "按文书发布待公示的决定",
        {"201": response("已发布", "Pending"), "200": response("已替换", "Pending"), "404": PROBLEM, "409": PROBLEM,
         "422": PROBLEM, "502": PROBLEM, "503": PROBLEM}, roles=("publisher",), parameters=_PENDING_ID,
        body_schema={"type": "object"})},
    "/v1/pending/{document_id}/withhold": {"post": operation(
        "withholdPending", "登记为不予公示（须说明理由）",
        {"200": response("已登记", "Pending"), "404": PROBLEM, "409": PROBLEM}, roles=("publisher",), parameters=_PENDING_ID,
        body_schema={"type": "object", "required": ["reason"],
                     "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}}})},
})


def build_spec() -> dict:
    return copy.deepcopy(SPEC)
