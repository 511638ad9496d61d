"""What every service's HTTP layer shares: problem responses, body parsing,
auth, health, readiness, metrics and the OpenAPI document.

`create_base_app` builds the Flask app; each service's create_app adds its
blueprint and its readiness checks.
"""
from __future__ import annotations

import json
import logging
import time
from functools import wraps
from typing import Any, Callable

from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared.auth import ApiKeys, Principal
from shared.config import Settings
from shared.problems import FieldError, Problem, invalid_field

log = logging.getLogger("zhifa.web")

PROBLEM_JSON = "application/problem+json"

_HTTP_TITLES = {
    400: "请求有误", 401: "未认证", 403: "无权操作", 404: "未找到", 405: "不支持该请求方法",
    406: "无法提供所需格式", 409: "状态冲突", 413: "请求体过大", 415: "不支持的媒体类型",
    422: "请求数据校验未通过", 429: "请求过于频繁", 500: "服务器内部错误", 503: "服务暂不可用",
}


def problem_response(problem: Problem) -> Response:
    text = json.dumps(problem.as_dict(), ensure_ascii=False)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:   # a field path quoting a client's lone surrogate: escape it
        body = json.dumps(problem.as_dict()).encode("ascii")
    resp = Response(body, status=problem.status, content_type=PROBLEM_JSON + "; charset=utf-8")
    if problem.status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="zhifa"'
    return resp


def json_body() -> dict:
    """The request's JSON object, or a problem naming what is wrong with it."""
    raw = request.get_data(cache=True)   # raises 413 past MAX_CONTENT_LENGTH
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", "请求体不是合法的 JSON",
                      f"请求体不是 UTF-8 编码（第 {exc.start} 字节）。",
                      [FieldError("body", "请求体须为 UTF-8 编码的 JSON。")])
    try:
        body = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", "请求体不是合法的 JSON",
                      f"JSON 解析失败：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）。",
                      [FieldError("body", f"第 {exc.lineno} 行第 {exc.colno} 列附近语法错误。")])
    if not isinstance(body, dict):
        raise invalid_field("body", "请求体须为 JSON 对象。")
    return body


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def requires(*roles: str) -> Callable:
    """Decorator: the caller must present a bearer token of one of these roles."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            keys: ApiKeys = current_app.extensions["zhifa.api_keys"]
            g.principal = keys.authenticate(request.headers.get("Authorization"), roles)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def principal() -> Principal:
    return g.principal


def create_base_app(service: str, settings: Settings, openapi: dict,
                    readiness: dict[str, Callable[[], None]]) -> Flask:
    app = Flask(f"zhifa.{service}")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.ensure_ascii = False
    app.extensions["zhifa.settings"] = settings
    app.extensions["zhifa.api_keys"] = ApiKeys(settings.api_keys, settings.api_keys_file)

    registry = CollectorRegistry()
    requests_total = Counter("zhifa_http_requests_total", "HTTP requests", ["service", "endpoint", "status"],
                             registry=registry)
    latency = Histogram("zhifa_http_request_seconds", "HTTP request latency", ["service", "endpoint"],
                        registry=registry)
    app.extensions["zhifa.metrics"] = registry

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _observe(resp: Response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(service, endpoint, str(resp.status_code)).inc()
        latency.labels(service, endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return resp

    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return problem_response(problem)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = settings.max_body_bytes
        return problem_response(Problem(413, "payload-too-large", "请求体过大",
                                        f"请求体超过 {limit} 字节的上限（ZHIFA_MAX_BODY_BYTES）。",
                                        [FieldError("body", f"请求体不能超过 {limit} 字节。")]))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        resp = problem_response(Problem(status, f"http-{status}", _HTTP_TITLES.get(status, "请求失败"),
                                        exc.description if status >= 500 else None))
        allow = dict(exc.get_headers()).get("Allow")
        if allow:                                  # a 405 must say which methods are allowed
            resp.headers["Allow"] = allow
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem_response(Problem(500, "internal-error", "服务器内部错误",
                                        "处理请求时发生意外错误，已记录日志，请稍后重试或联系管理员。"))

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz():
        checks, ready = {}, True
        for name, check in readiness.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:  # readiness reports, it does not raise
                checks[name] = f"failed: {exc.__class__.__name__}: {exc}"[:300]
                ready = False
        return jsonify(status="ready" if ready else "not-ready", checks=checks), (200 if ready else 503)

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(openapi)

    return app
