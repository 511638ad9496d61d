"""What every service's HTTP layer shares: problem responses (JSON, or a
small Chinese HTML page for browsers), body parsing, auth, request ids,
absolute URLs, health, readiness, metrics and the OpenAPI document.

`create_base_app` builds the Flask app; each service's create_app adds its
blueprint and its readiness checks; `serve` (below) runs any such app under
waitress with the edge hardened.
"""
from __future__ import annotations

import json
import logging
import math
import re
import signal
import threading
import time
import uuid
from functools import wraps
from typing import Any, Callable

from flask import Flask, Response, current_app, g, has_request_context, jsonify, request
from markupsafe import escape
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from shared import logs
from shared.auth import ApiKeys, Principal
from shared.config import Settings
from shared.problems import FieldError, Problem, invalid, invalid_field

log = logging.getLogger("zhifa.web")

PROBLEM_JSON = "application/problem+json"

_HTTP_TITLES = {
    400: "请求有误", 401: "未认证", 403: "无权操作", 404: "未找到", 405: "不支持该请求方法",
    406: "无法提供所需格式", 409: "状态冲突", 413: "请求体过大", 415: "不支持的媒体类型",
    422: "请求数据校验未通过", 429: "请求过于频繁", 431: "请求头过大", 500: "服务器内部错误",
    501: "不支持的请求", 502: "上游服务应答有误", 503: "服务暂不可用",
}

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Python refuses to parse integers past 4,300 digits (CVE-2020-10735).
_MAX_INT_DIGITS = 4300


def problem_response(problem: Problem) -> Response:
    """The problem as application/problem+json, or as a small Chinese HTML
    page when the client (a browser) prefers text/html."""
    if has_request_context() and _prefers_html():
        resp = Response(_problem_page(problem), status=problem.status, content_type="text/html; charset=utf-8")
    else:
        resp = Response(problem_json_bytes(problem), status=problem.status,
                        content_type=PROBLEM_JSON + "; charset=utf-8")
    if problem.status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="zhifa"'
    return resp


def problem_json_bytes(problem: Problem) -> bytes:
    text = json.dumps(problem.as_dict(), ensure_ascii=False)
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError:   # a field path quoting a client's lone surrogate: escape it
        body = json.dumps(problem.as_dict()).encode("ascii")
    return body


def _prefers_html() -> bool:
    accept = request.accept_mimetypes
    best = accept.best_match([PROBLEM_JSON, "application/json", "text/html"])
    return best == "text/html" and accept["text/html"] > accept["application/json"]


def _problem_page(problem: Problem) -> str:
    def text(value: str) -> str:   # lone surrogates cannot be encoded as UTF-8
        return str(escape(value.encode("utf-8", "replace").decode("utf-8")))
    items = "".join(f"<li><code>{text(e.path)}</code>：{text(e.message)}</li>" for e in problem.errors)
    return ("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{problem.status} {text(problem.title)}</title>"
            "<style>body{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}"
            "h1{font-size:1.4em;color:#a00}</style></head><body>"
            f"<h1>{problem.status} {text(problem.title)}</h1>"
            + (f"<p>{text(problem.detail)}</p>" if problem.detail else "")
            + (f"<ul>{items}</ul>" if items else "")
            + "<p><a href=\"/\">返回首页</a></p></body></html>\n")


def json_body() -> dict:
    """The request's JSON object, or a problem naming what is wrong with it:
    400 for a body that is not JSON or nests too deep, 413 past
    ZHIFA_MAX_BODY_BYTES, 422 naming each number that cannot be a value
    (infinite, or an integer of more than 4,300 digits)."""
    # A service taking large uploads serves a larger body limit; JSON keeps its own.
    limit = current_app.extensions["zhifa.settings"].max_body_bytes
    if request.max_content_length is None or request.max_content_length > limit:
        request.max_content_length = limit
    raw = request.get_data(cache=True)   # raises 413 past the limit
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Problem(400, "malformed-json", "请求体不是合法的 JSON",
                      f"请求体不是 UTF-8 编码（第 {exc.start} 字节）。",
                      [FieldError("body", "请求体须为 UTF-8 编码的 JSON。")])
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        raise Problem(400, "malformed-json", "请求体不是合法的 JSON",
                      f"JSON 解析失败：第 {exc.lineno} 行第 {exc.colno} 列（{exc.msg}）。",
                      [FieldError("body", f"第 {exc.lineno} 行第 {exc.colno} 列附近语法错误。")])
    except RecursionError:
        raise Problem(400, "malformed-json", "请求体不是合法的 JSON", "JSON 嵌套层数过深。",
                      [FieldError("body", "对象或数组的嵌套层数过多。")])
    if not isinstance(body, dict):
        raise invalid_field("body", "请求体须为 JSON 对象。")
    bad = _unusable_numbers(body)
    if bad:
        raise invalid(bad)
    return body


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


class _HugeInt:
    """Stands for an integer too long to parse, so its field can be named."""


def _parse_int(digits: str) -> int | _HugeInt:
    return _HugeInt() if len(digits.lstrip("-")) > _MAX_INT_DIGITS else int(digits)


def _unusable_numbers(body: dict) -> list[FieldError]:
    """Each huge integer or non-finite number (1e400 parses as infinity), by path.
    Iterative: the body may nest as deep as the parser allowed."""
    errors, stack = [], [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{path}/{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}/{i}" if path else str(i), v) for i, v in enumerate(value))
        elif isinstance(value, _HugeInt):
            errors.append(FieldError(path, f"整数位数过多（不能超过 {_MAX_INT_DIGITS} 位）。"))
        elif isinstance(value, float) and not math.isfinite(value):
            errors.append(FieldError(path, "数值超出可表示的范围。"))
    return sorted(errors, key=lambda e: e.path)


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


def request_id() -> str | None:
    """This request's id (the caller's X-Request-ID when sane, else a new one)."""
    return g.get("request_id") if has_request_context() else None


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for `endpoint`, built on the service's configured base
    URL (ZHIFA_<SERVICE>_URL), never on the Host header a client sent."""
    settings: Settings = current_app.extensions["zhifa.settings"]
    base = settings.service_url(current_app.extensions["zhifa.service"])
    path = current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
    return base + path


def create_base_app(service: str, settings: Settings, openapi: dict,
                    readiness: dict[str, Callable[[], None]], max_body_bytes: int | None = None) -> Flask:
    """`max_body_bytes` (default settings.max_body_bytes) is the largest body
    the server reads at all; a service taking uploads passes
    settings.max_upload_bytes, and JSON bodies keep their own limit."""
    from shared import ratelimit
    app = Flask(f"zhifa.{service}")
    # werkzeug answers "//x" with a 308 to "/x" built on the client's Host header (an
    # attacker's host in Location, an HTML body): such a path is simply not found.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes or settings.max_body_bytes
    app.json.ensure_ascii = False
    app.extensions["zhifa.service"] = service
    app.extensions["zhifa.settings"] = settings
    app.extensions["zhifa.api_keys"] = ApiKeys(settings.api_keys, settings.api_keys_file)

    registry = CollectorRegistry()
    requests_total = Counter("zhifa_http_requests_total", "HTTP requests", ["service", "endpoint", "status"],
                             registry=registry)
    latency = Histogram("zhifa_http_request_seconds", "HTTP request latency", ["service", "endpoint"],
                        registry=registry)
    app.extensions["zhifa.metrics"] = registry

    @app.before_request
    def _start_request():
        g.started = time.perf_counter()
        given = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_id_token = logs.request_id.set(g.request_id)

    @app.after_request
    def _observe(resp: Response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        requests_total.labels(service, endpoint, str(resp.status_code)).inc()
        latency.labels(service, endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        if "request_id" in g:
            resp.headers[REQUEST_ID_HEADER] = g.request_id
        return resp

    @app.teardown_request
    def _forget_request_id(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)

    ratelimit.install(app, settings)

    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return problem_response(problem)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc):
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        return problem_response(too_large(limit))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        status = exc.code or 500
        resp = problem_response(Problem(status, f"http-{status}", _HTTP_TITLES.get(status, "请求失败"),
                                        exc.description if status >= 500 else None))
        for name in ("Allow", "Retry-After"):      # a 405 says which methods; a 429 when to retry
            value = dict(exc.get_headers()).get(name)
            if value:
                resp.headers[name] = value
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
            except Exception:  # readiness reports, it does not raise; details go to the log only
                log.warning("readiness check %s failed", name, exc_info=True)
                checks[name] = "failed"
                ready = False
        return jsonify(status="ready" if ready else "not-ready", checks=checks), (200 if ready else 503)

    @app.get("/metrics")
    def metrics():
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(openapi)

    return app


def too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "请求体过大", f"请求体超过 {limit} 字节的上限。",
                   [FieldError("body", f"请求体不能超过 {limit} 字节。")])


# --- Serving -----------------------------------------------------------------
# waitress, configured so that an attacker's huge bodies, idle sockets or odd
# bytes neither fill the disk, starve the service nor get a plain-text answer.

from waitress import wasyncore                          # noqa: E402
from waitress.channel import HTTPChannel                 # noqa: E402
from waitress.parser import HTTPRequestParser            # noqa: E402
from waitress.server import BaseWSGIServer, create_server  # noqa: E402
from waitress.task import ErrorTask                      # noqa: E402

_NON_ASCII = re.compile(rb"[\x80-\xff]")


class _Utf8UriParser(HTTPRequestParser):
    """Some clients send a query's UTF-8 bytes unencoded
    (`?number=鞍审批罚决字〔2026〕第1号`). waitress's split_uri hands the raw
    bytes to urlsplit, which refuses non-ASCII ("Bad URI"); percent-encoding
    those bytes first lets the app read them as UTF-8, as if the client had
    encoded them."""

    def parse_header(self, header_plus: bytes) -> None:
        end = header_plus.find(b"\r\n")
        if end > 0:
            first = _NON_ASCII.sub(lambda m: b"%%%02X" % m[0][0], header_plus[:end])
            header_plus = first + header_plus[end:]
        super().parse_header(header_plus)


class _ProblemErrorTask(ErrorTask):
    """Errors waitress answers itself (413 before reading the body, 400 for
    a malformed request) as problem+json, like the app's own."""

    def execute(self) -> None:
        error = self.request.error
        problem = Problem(error.code, f"http-{error.code}", _HTTP_TITLES.get(error.code, "请求失败"),
                          "请求体超过上限，未予读取。" if error.code == 413 else "请求格式不符合 HTTP 规范。")
        body = problem_json_bytes(problem)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", PROBLEM_JSON + "; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    parser_class = _Utf8UriParser
    error_task_class = _ProblemErrorTask


def serve(app: Flask, host: str, port: int, threads: int = 8, stop_timeout: float = 10.0,
          ready: Callable[[str, int], None] | None = None, signals: bool = True,
          stop: threading.Event | None = None) -> None:
    """Serve `app` until SIGTERM or Ctrl-C, then stop accepting, let requests
    under way finish for at most `stop_timeout` seconds, and return.

    Bodies past the app's MAX_CONTENT_LENGTH are refused from the
    Content-Length header, before a byte is buffered. Idle or slow
    connections are dropped after settings.http_channel_timeout and cannot
    exceed settings.http_connection_limit. Proxy headers (X-Forwarded-*) are
    dropped: absolute URLs come from configuration (`external_url`).
    `ready(host, port)` is called once the socket listens.
    `signals=False` installs no SIGTERM handler (only the main thread may),
    so a test can serve from a thread and end serving by setting `stop`.
    """
    settings: Settings = app.extensions["zhifa.settings"]
    socket_map: dict = {}
    server = create_server(
        app, map=socket_map, host=host, port=port, threads=threads,
        ident=f"zhifa-{app.extensions.get('zhifa.service', 'app')}",
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
        # 1 MB per recv (waitress reads 64 KB): a 228 MB upload cost its loop 0.7 s of CPU, now 0.25 s
        recv_bytes=1024 * 1024,
        connection_limit=settings.http_connection_limit,
        channel_timeout=settings.http_channel_timeout,
        cleanup_interval=max(1, min(30, settings.http_channel_timeout // 2)),
        asyncore_use_poll=True, clear_untrusted_proxy_headers=True)
    listeners = [s for s in socket_map.values() if isinstance(s, BaseWSGIServer)]
    for listener in listeners:
        listener.channel_class = _Channel
    if ready:
        ready(listeners[0].effective_host, listeners[0].effective_port)

    stopping = stop or threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set()) if signals else None
    try:
        while not stopping.is_set():
            wasyncore.loop(timeout=1.0, map=socket_map, use_poll=True, count=1)
    except KeyboardInterrupt:
        pass
    finally:
        if signals:
            signal.signal(signal.SIGTERM, previous)
    log.info("stopping: no new connections; finishing requests under way (at most %.0f s)", stop_timeout)
    for listener in listeners:
        listener.close()
    dispatcher = server.task_dispatcher
    deadline = time.monotonic() + stop_timeout
    while time.monotonic() < deadline and _busy(socket_map, dispatcher):
        wasyncore.loop(timeout=0.1, map=socket_map, use_poll=True, count=1)
    dispatcher.shutdown(timeout=max(0.1, deadline - time.monotonic()))
    wasyncore.close_all(socket_map)


def _busy(socket_map: dict, dispatcher) -> bool:
    return bool(dispatcher.queue) or any(
        getattr(ch, "requests", None) or getattr(ch, "total_outbufs_len", 0) for ch in list(socket_map.values()))
