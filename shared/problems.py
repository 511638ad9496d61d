"""RFC 9457 problem details, raised by domain code and rendered by the HTTP layer.

Domain modules raise `Problem` (no Flask here); `shared.web` turns it into an
`application/problem+json` response. `type` is a stable URI for programs;
`title`, `detail` and each error's `message` are Chinese, for people.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TYPE_BASE = "https://zhifa.example/problems/"


@dataclass
class FieldError:
    path: str          # JSON Pointer-ish path of the bad field, e.g. "data/party/name"
    message: str       # Chinese, for people

    def as_dict(self) -> dict:
        return {"path": self.path, "message": self.message}


@dataclass
class Problem(Exception):
    status: int
    type: str                      # short slug, e.g. "validation-failed"
    title: str                     # Chinese
    detail: str | None = None      # Chinese
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        Exception.__init__(self, f"{self.status} {self.type}: {self.detail or self.title}")

    def as_dict(self) -> dict:
        body = {
            "type": TYPE_BASE + self.type,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


def invalid(errors: list[FieldError], detail: str = "请求数据有误，请按 errors 中列出的字段更正后重试。") -> Problem:
    """422: the request is well-formed JSON but some fields are wrong."""
    return Problem(422, "validation-failed", "请求数据校验未通过", detail, errors)


def invalid_field(path: str, message: str) -> Problem:
    return invalid([FieldError(path, message)])


def not_found(what: str) -> Problem:
    return Problem(404, "not-found", "未找到", f"{what}不存在。")


def conflict(type_: str, title: str, detail: str) -> Problem:
    return Problem(409, type_, title, detail)
