"""OpenAPI 3.1 building blocks every service's /openapi.json is made of:
the problem schema, the bearer scheme, the error responses an operation may
give besides its own, and helpers for parameters and responses."""
from __future__ import annotations

PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "message": {"type": "string"}}}}}}

PROBLEM = {"description": "问题详情（RFC 9457）",
           "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
BEARER = [{"bearer": []}]
# What an operation may answer besides its own responses.
AUTH_PROBLEMS = {"401": PROBLEM, "403": PROBLEM}
BODY_PROBLEMS = {"400": PROBLEM, "413": PROBLEM, "422": PROBLEM}
RATE_LIMITED = {"429": {**PROBLEM, "description": "请求过于频繁（见 Retry-After）",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}


def base_spec(title: str, description: str, version: str = "1.0.0") -> dict:
    """A spec with the shared components; the service adds its schemas and paths."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": {"Problem": PROBLEM_SCHEMA}},
        "paths": {},
    }


def response(description: str, schema_ref: str | None = None, media_type: str = "application/json") -> dict:
    body: dict = {"description": description}
    if schema_ref:
        body["content"] = {media_type: {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}
    return body


def path_param(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def query_param(name: str, schema: dict | None = None, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema or {"type": "string"}}


def operation(operation_id: str, summary: str, responses: dict, *, auth: bool = False,
              parameters: list | None = None, body_schema_ref: str | None = None,
              body_schema: dict | None = None, body_media_type: str = "application/json",
              roles: tuple[str, ...] = ()) -> dict:
    """One operation; `auth` adds the bearer requirement and 401/403, a body adds 400/413/422.
    `roles` are the roles whose tokens may call it (admin's may call any): OpenAPI 3.1 lets a
    bearer requirement list role names, so clients and the authorisation matrix test read them."""
    op: dict = {"operationId": operation_id, "summary": summary, "responses": dict(responses)}
    if auth or roles:
        op["security"] = [{"bearer": list(roles)}] if roles else BEARER
        op["responses"].update(AUTH_PROBLEMS)
        if roles:
            op["description"] = f"所需角色：{'、'.join(roles)}（admin 亦可）。"
    if parameters:
        op["parameters"] = parameters
    if body_schema_ref or body_schema:
        schema = {"$ref": f"#/components/schemas/{body_schema_ref}"} if body_schema_ref else body_schema
        op["requestBody"] = {"required": True, "content": {body_media_type: {"schema": schema}}}
        op["responses"] = {**BODY_PROBLEMS, **op["responses"]}
    return op
