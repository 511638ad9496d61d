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
from shared.config import SERVICES, Settings
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
        wrapper.zhifa_roles = roles     # read by the server's EdgeRules, which refuses a body before reading it
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
    app.extensions["zhifa.api_keys"] = ApiKeys(settings.api_keys, settings.api_keys_file,
                                               min_length=settings.api_key_min_length)

    registry = CollectorRegistry()
    requests_total = Counter("zhifa_http_requests_total", "HTTP requests", ["service", "endpoint", "status"],
                             registry=registry)
    latency = Histogram("zhifa_http_request_seconds", "HTTP request latency", ["service", "endpoint"],
                        registry=registry)
    app.extensions["zhifa.metrics"] = registry
    app.extensions["zhifa.edge_refusals"] = Counter(
        "zhifa_http_edge_refusals_total", "Requests and connections refused by the server before the app saw them",
        ["service", "reason"], registry=registry)

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
    @requires("admin")      # issuance volumes are not public: Prometheus scrapes with an admin token
    def metrics():
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/openapi.json")
    def openapi_json():
        return jsonify(openapi)

    return app


class _JobsCollector:
    """/metrics figures of a service's background jobs, read when scraped: runs by job and
    outcome, seconds by job (every worker's, from Redis, under RQ), and jobs still queued."""

    def __init__(self, service: str, jobs):
        self.service, self.jobs = service, jobs

    def _families(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        return (CounterMetricFamily("zhifa_jobs", "Background jobs run, by job and outcome",
                                    labels=["service", "job", "outcome"]),
                CounterMetricFamily("zhifa_job_seconds", "Seconds spent in background jobs", labels=["service", "job"]),
                GaugeMetricFamily("zhifa_jobs_queued", "Jobs waiting for a worker", labels=["service"]))

    def describe(self):
        return list(self._families())

    def collect(self):
        runs, seconds, queued = self._families()
        try:
            figures = self.jobs.figures.read()
            for key, value in sorted(figures.items()):
                job, _, what = key.partition("|")
                if what == "seconds":
                    seconds.add_metric([self.service, job], value)
                else:
                    runs.add_metric([self.service, job, what], value)
            if self.jobs.mode == "rq":
                queued.add_metric([self.service], self.jobs.queue().count)
        except Exception:   # Redis down: /readyz says so; /metrics still answers
            log.warning("job figures unavailable", exc_info=True)
        return [runs, seconds, queued]


def readiness_of(engine, jobs, blobs=None) -> dict[str, Callable[[], None]]:
    """/readyz checks of the parts every service needs: its database, Redis when its jobs
    go through it, and its blob store when the store can tell (`check()`: S3 reachable and
    writable, a local directory writable). A service adds its own (LibreOffice, the index)."""
    from shared.db import ping
    checks: dict[str, Callable[[], None]] = {"database": lambda: ping(engine)}
    if jobs.mode == "rq":
        checks["redis"] = jobs.ping
    if callable(getattr(blobs, "check", None)):
        checks["blobs"] = blobs.check
    return checks


def observe_jobs(app: Flask, jobs) -> None:
    """Add the service's background jobs (shared.jobs.Jobs) to its /metrics."""
    app.extensions["zhifa.metrics"].register(_JobsCollector(app.extensions["zhifa.service"], jobs))


def too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "请求体过大", f"请求体超过 {limit} 字节的上限。",
                   [FieldError("body", f"请求体不能超过 {limit} 字节。")])


# --- Serving -----------------------------------------------------------------
# waitress, configured so that an attacker's huge bodies, idle or dribbling
# sockets or odd bytes neither fill the disk, starve the service nor get a
# plain-text answer. waitress buffers a whole body (to a temp file past 512 KB)
# before the app sees the request, so what can be decided from the request's
# head (route, token, the route's own size limit, the client's share of temp
# space) is decided by the server as soon as the head is parsed, and the body
# is then never stored.

import collections                                       # noqa: E402
import copy                                              # noqa: E402
import functools                                         # noqa: E402
import socket                                            # noqa: E402
from http import HTTPStatus                              # noqa: E402

from waitress import wasyncore                          # noqa: E402
from waitress.channel import HTTPChannel                 # noqa: E402
from waitress.parser import HTTPRequestParser            # noqa: E402
from waitress.server import BaseWSGIServer, create_server  # noqa: E402
from waitress.task import ErrorTask, WSGITask            # noqa: E402
from waitress.utilities import RequestEntityTooLarge as RequestEntityTooLargeError  # noqa: E402
from werkzeug.exceptions import MethodNotAllowed, NotFound  # noqa: E402
from werkzeug.routing import RequestRedirect             # noqa: E402

_NON_ASCII = re.compile(rb"[\x80-\xff]")
_JSON_OR_FORM = re.compile(r"^\s*(application/([\w.+-]*\+)?json|application/x-www-form-urlencoded)\s*(;|$)", re.I)
# After answering a refused request, what the client still sends is read and
# dropped for this long (never stored), so that closing does not reset the
# connection and throw away the answer before the client reads it.
LINGER_SECONDS = 2.0


def body_limit(app: Flask, endpoint: str, limit: int) -> None:
    """The largest body `endpoint` accepts, which the server enforces from the
    Content-Length header before reading any of it. Endpoints not declared take
    settings.max_body_bytes for JSON and form bodies, the app's largest body else."""
    app.extensions.setdefault("zhifa.body_limits", {})[endpoint] = limit


def edge_check(app: Flask, endpoint: str, check: Callable[[dict], Problem | None]) -> None:
    """One more check the server makes from the head of a request with a body to
    `endpoint`, before reading the body: `check(headers)` (waitress's form: upper
    case, "_" for "-", e.g. COOKIE) returns the problem to answer, or None."""
    app.extensions.setdefault("zhifa.edge_checks", {})[endpoint] = check


def signed_session_check(app: Flask, key: str = "sid") -> Callable[[dict], Problem | None]:
    """For pages behind a sign-in: the request must carry the app's session cookie,
    validly signed and naming a session (`key`); whether that session is still open
    is the page's own check, once the request reaches it."""
    from werkzeug.http import parse_cookie

    def check(headers: dict) -> Problem | None:
        value = parse_cookie(headers.get("COOKIE", "")).get(app.config["SESSION_COOKIE_NAME"])
        serializer = app.session_interface.get_signing_serializer(app)
        try:
            data = serializer.loads(value, max_age=int(app.permanent_session_lifetime.total_seconds())) \
                if value and serializer else {}
        except Exception:   # bad signature, expired, garbage: not signed in
            data = {}
        if not isinstance(data, dict) or not data.get(key):
            return Problem(401, "not-signed-in", "未认证", "请先登录后再上传。")
        return None
    return check


class EdgeRules:
    """What the server decides from a request's head alone, before reading a
    byte of its body: the route (404/405), the caller's token where the route
    requires one (401/403, as `requires` would answer) and the route's own
    body limit (413). Runs on the server's event loop: no I/O but the stat of
    the keys file that ApiKeys does on every use."""

    def __init__(self, app: Flask):
        self.app = app
        self.keys: ApiKeys = app.extensions["zhifa.api_keys"]
        self.settings: Settings = app.extensions["zhifa.settings"]
        self.largest = app.config["MAX_CONTENT_LENGTH"]
        self.limits: dict[str, int] = app.extensions.setdefault("zhifa.body_limits", {})
        self.checks: dict[str, Callable] = app.extensions.setdefault("zhifa.edge_checks", {})
        self.adapter = app.url_map.bind("localhost")

    def limit_for(self, endpoint: str | None, content_type: str) -> int:
        limit = self.limits.get(endpoint, self.largest)
        if _JSON_OR_FORM.match(content_type or ""):       # json_body and forms keep the small limit
            limit = min(limit, self.settings.max_body_bytes)
        return limit

    def check(self, method: str, path: str, headers: dict, length: int | None) -> tuple[Problem | None, dict, int]:
        """(refusal or None, headers for the refusal, the body limit of the route). `length`
        is the declared Content-Length, None for a chunked body. `headers` as waitress keeps them."""
        endpoint = None
        try:
            endpoint, _ = self.adapter.match(path, method)
        except MethodNotAllowed as exc:
            return (Problem(405, "http-405", _HTTP_TITLES[405], f"此地址不支持 {method} 方法。"),
                    {"Allow": ", ".join(sorted(exc.valid_methods or []))}, 0)
        except NotFound:
            return Problem(404, "http-404", _HTTP_TITLES[404]), {}, 0
        except (RequestRedirect, HTTPException):
            pass                                # the app answers these itself
        roles = getattr(self.app.view_functions.get(endpoint), "zhifa_roles", None)
        if roles is not None:
            try:
                self.keys.authenticate(headers.get("AUTHORIZATION"), roles)
            except Problem as problem:
                return problem, ({"WWW-Authenticate": 'Bearer realm="zhifa"'} if problem.status == 401 else {}), 0
        if endpoint in self.checks:
            problem = self.checks[endpoint](headers)
            if problem is not None:
                return problem, {}, 0
        limit = self.limit_for(endpoint, headers.get("CONTENT_TYPE", ""))
        if length is not None and length > limit:
            return too_large(limit), {}, limit
        return None, {}, limit


class _Edge:
    """Per-server state of the edge: the rules, and per client address the open
    connections and the body bytes being buffered (each body counted by its
    declared length, or by its route's limit when chunked, until its request is done)."""

    def __init__(self, app: Flask, settings: Settings):
        self.rules = EdgeRules(app)
        self.service = app.extensions.get("zhifa.service", "app")
        self.header_timeout = settings.http_header_timeout
        self.connections_per_client = settings.http_connections_per_client
        budget = settings.http_body_bytes_per_client            # None: the largest body; 0: no bound
        self.body_bytes_per_client = (app.config["MAX_CONTENT_LENGTH"] if budget is None
                                      else budget if budget > 0 else float("inf"))
        self.connections: collections.Counter = collections.Counter()
        self.body_bytes: collections.Counter = collections.Counter()
        self.lock = threading.Lock()
        self.refusals = app.extensions.get("zhifa.edge_refusals")

    def refused(self, reason: str) -> None:
        if self.refusals is not None:
            self.refusals.labels(self.service, reason).inc()

    def reserve(self, client: str, amount: int) -> bool:
        with self.lock:
            if self.body_bytes[client] + amount > self.body_bytes_per_client:
                return False
            self.body_bytes[client] += amount
            return True

    def release(self, client: str, amount: int) -> None:
        with self.lock:
            self.body_bytes[client] -= amount
            if self.body_bytes[client] <= 0:
                del self.body_bytes[client]


class _Refusal:
    """A request refused from its head: what waitress's error task reads (code,
    reason) and the problem and headers it answers with."""

    def __init__(self, problem: Problem, headers: dict | None = None):
        self.problem, self.headers = problem, headers or {}
        self.code, self.reason = problem.status, HTTPStatus(problem.status).phrase


class _EdgeParser(HTTPRequestParser):
    """waitress's parser, plus: raw UTF-8 in the request line read as UTF-8,
    and the edge's decision once the head is parsed. A refused request's body
    is never stored, nor parsed as a next request."""

    reserved = 0

    def __init__(self, adj, channel: "_Channel | None" = None):
        super().__init__(adj)
        self.channel = channel
        self.started = time.monotonic()
        if channel is not None:
            channel.head_started = self.started

    def parse_header(self, header_plus: bytes) -> None:
        # Some clients send a query's UTF-8 bytes unencoded (`?number=鞍审批罚决字〔2026〕第1号`);
        # waitress's split_uri refuses non-ASCII ("Bad URI"): percent-encode those bytes first.
        end = header_plus.find(b"\r\n")
        if end > 0:
            first = _NON_ASCII.sub(lambda m: b"%%%02X" % m[0][0], header_plus[:end])
            header_plus = first + header_plus[end:]
        super().parse_header(header_plus)

    def received(self, data: bytes) -> int:
        if self.completed and self.error is not None:
            return len(data)
        had_head = self.headers_finished
        consumed = super().received(data)
        if self.channel is None:
            return consumed
        if self.headers_finished and not had_head:
            self.channel.heads += 1
            if self.error is None and (self.content_length > 0 or self.chunked):
                self._decide()
        if self.error is not None:
            if isinstance(self.error, RequestEntityTooLargeError):    # past the largest body, or a chunked one past its route's
                self.error = _Refusal(too_large(self.adj.max_request_body_size - 1))
            # Whatever else this read brought is the refused body: dropped, not parsed as a next request.
            self.expect_continue = False          # nor invited (100 Continue)
            self.channel.discarding = True
            self.close()                          # its buffer and its share go before the answer
            consumed = len(data)
        return consumed

    def _decide(self) -> None:
        edge: _Edge = self.channel.server.zhifa_edge
        path = self.path.encode("latin-1").decode("utf-8", "replace")
        length = None if self.chunked else self.content_length
        problem, headers, limit = edge.rules.check(self.command, path, self.headers, length)
        reason = f"http-{problem.status}" if problem else None
        if problem is None:
            amount = limit if self.chunked else self.content_length
            if edge.reserve(self.channel.client, amount):
                self.reserved = amount
                if self.chunked:     # waitress checks a chunked body as it comes, against this
                    self.adj = copy.copy(self.adj)
                    self.adj.max_request_body_size = limit + 1
                return
            problem = Problem(429, "too-much-uploading", _HTTP_TITLES[429],
                              f"来自同一地址、正在接收的请求体已达 {edge.body_bytes_per_client} 字节的上限，"
                              "请待之前的上传完成后重试。")
            headers, reason = {"Retry-After": "10"}, "client-body-budget"
        edge.refused(reason)
        log.info("refused %s %s from %s before reading its body (%d bytes declared): %d",
                 self.command, path[:200], self.channel.client, self.content_length, problem.status)
        self.error = _Refusal(problem, headers)
        self.completed = True

    def release(self) -> None:
        """Give the client's share back (idempotent)."""
        if self.reserved:
            self.channel.server.zhifa_edge.release(self.channel.client, self.reserved)
            self.reserved = 0

    def close(self) -> None:
        self.release()
        super().close()


class _Task(WSGITask):
    """The app's answer; the body's share is given back before the client can see
    it (waitress closes the request a moment after), so a client sending one upload
    after another is never refused for the one just answered."""

    def write(self, data):
        if not self.wrote_header:
            self.request.release()
        return super().write(data)


class _ProblemErrorTask(ErrorTask):
    """Errors answered without the app (a request refused from its head, a
    malformed request) as problem+json, like the app's own."""

    def execute(self) -> None:
        error = self.request.error
        if isinstance(error, _Refusal):
            problem = error.problem
            self.response_headers.extend(error.headers.items())
        else:
            problem = Problem(error.code, f"http-{error.code}", _HTTP_TITLES.get(error.code, "请求失败"),
                              "请求体超过上限，未予读取。" if error.code == 413 else "请求格式不符合 HTTP 规范。")
        body = problem_json_bytes(problem)
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", PROBLEM_JSON + "; charset=utf-8"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


_TOO_MANY_CONNECTIONS = None


def _too_many_connections() -> bytes:
    global _TOO_MANY_CONNECTIONS
    if _TOO_MANY_CONNECTIONS is None:
        body = problem_json_bytes(Problem(429, "too-many-connections", _HTTP_TITLES[429],
                                          "来自同一地址的连接数已达上限，请关闭空闲连接后重试。"))
        _TOO_MANY_CONNECTIONS = (b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: " + PROBLEM_JSON.encode()
                                 + b"; charset=utf-8\r\nRetry-After: 10\r\nConnection: close\r\n"
                                 + b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return _TOO_MANY_CONNECTIONS


class _Channel(HTTPChannel):
    """A connection, with the edge's bounds: connections per client address,
    time to send a request's head (`_maintenance`), and a short lingering
    close after a refusal."""

    task_class = _Task
    error_task_class = _ProblemErrorTask
    discarding = False          # a refused request's body may still be arriving: drop it
    linger_until: float | None = None
    counted = False
    heads = 0                   # request heads received on this connection

    def __init__(self, server, sock, addr, adj, map=None):
        self.parser_class = functools.partial(_EdgeParser, channel=self)
        self.head_started = time.monotonic()
        super().__init__(server, sock, addr, adj, map=map)
        edge: _Edge = server.zhifa_edge
        self.client = addr[0] if isinstance(addr, tuple) else str(addr)
        with edge.lock:
            edge.connections[self.client] += 1
            self.counted = True
            over = 0 < edge.connections_per_client < edge.connections[self.client]
        if over:
            edge.refused("connections-per-client")
            try:
                sock.send(_too_many_connections())    # best effort: it fits an empty send buffer
            except OSError:
                pass
            self.close()

    def del_channel(self, map=None):
        if self.counted:
            edge: _Edge = self.server.zhifa_edge
            with edge.lock:
                edge.connections[self.client] -= 1
                if edge.connections[self.client] <= 0:
                    del edge.connections[self.client]
            self.counted = False
        super().del_channel(map)

    def readable(self):
        return True if self.linger_until is not None else super().readable()

    def writable(self):
        return self.will_close if self.linger_until is not None else super().writable()

    def handle_read(self):
        if self.linger_until is None:
            return super().handle_read()
        try:
            self.recv(self.adj.recv_bytes)       # dropped; EOF or an error closes (handle_close)
        except OSError:
            self.close()

    def handle_write(self):
        if self.linger_until is None:
            return super().handle_write()
        self.close()

    def handle_close(self):
        if self.discarding and self.connected and self.linger_until is None and not self.requests:
            # The refusal is sent: stop writing, keep reading (and dropping) for a moment.
            with self.outbuf_lock:
                for outbuf in self.outbufs:
                    outbuf.close()
                self.total_outbufs_len = 0
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                return self.close()
            self.linger_until = time.monotonic() + LINGER_SECONDS
            self.will_close = self.close_when_flushed = False
            return None
        return self.close()

    def close(self):
        if self.request is not None:     # a half-received body: its temp file and its share go now
            self.request.close()
        if self.linger_until is not None:
            wasyncore.dispatcher.close(self)
        else:
            super().handle_close()


def _maintenance(server: BaseWSGIServer, now: float) -> None:
    """waitress's idle timeout (which every byte restarts), plus: a request's
    head must arrive whole within settings.http_header_timeout of its first
    byte (of the connection, for its first request), and a lingering close ends."""
    BaseWSGIServer.maintenance(server, now)
    edge: _Edge = server.zhifa_edge
    mono, slow = time.monotonic(), 0
    for channel in list(server.active_channels.values()):
        if getattr(channel, "linger_until", None) is not None:
            if mono >= channel.linger_until:
                channel.will_close = True
            continue
        request = channel.request
        waiting_head = (request is not None and not request.headers_finished) or (
            request is None and not channel.requests and not getattr(channel, "heads", 1))
        if waiting_head and mono - getattr(channel, "head_started", mono) > edge.header_timeout:
            channel.will_close = True
            slow += 1
    if slow:
        edge.refused("slow-head")
        log.warning("closed %d connection(s) that did not send a request head within %.0f s",
                    slow, edge.header_timeout)


def bound_url(host: str, port: int) -> str:
    """http://host:port for the address a server is bound to; a wildcard address
    becomes this machine's name (what other hosts can reach, at best)."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def serve(app: Flask, host: str, port: int, threads: int = 8, stop_timeout: float = 10.0,
          ready: Callable[[str, int], None] | None = None, signals: bool = True,
          stop: threading.Event | None = None) -> None:
    """Serve `app` until SIGTERM or Ctrl-C, then stop accepting, let requests
    under way finish for at most `stop_timeout` seconds, and return.

    A request with a body is decided from its head (`EdgeRules`: route, token,
    the route's body limit; and the client's share of buffered bodies) before
    a byte of the body is stored. A request's head must arrive within
    settings.http_header_timeout; idle connections are dropped after
    settings.http_channel_timeout; one client address holds at most
    settings.http_connections_per_client connections and all of them at most
    settings.http_connection_limit. Proxy headers (X-Forwarded-*) are dropped:
    absolute URLs come from configuration (`external_url`), or, when the
    service's URL is not configured, from the address it is bound to.
    `ready(host, port)` is called once the socket listens.
    `signals=False` installs no SIGTERM handler (only the main thread may),
    so a test can serve from a thread and end serving by setting `stop`.
    """
    settings: Settings = app.extensions["zhifa.settings"]
    service = app.extensions.get("zhifa.service", "app")
    socket_map: dict = {}
    cleanup = max(1, int(min(settings.http_channel_timeout, settings.http_header_timeout) // 2))
    server = create_server(
        app, map=socket_map, host=host, port=port, threads=threads, ident=f"zhifa-{service}",
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"] + 1,
        # 1 MB per recv (waitress reads 64 KB): a 228 MB upload cost its loop 0.7 s of CPU, now 0.25 s
        recv_bytes=1024 * 1024,
        connection_limit=settings.http_connection_limit,
        channel_timeout=settings.http_channel_timeout,
        cleanup_interval=cleanup,
        asyncore_use_poll=True, clear_untrusted_proxy_headers=True)
    listeners = [s for s in socket_map.values() if isinstance(s, BaseWSGIServer)]
    for listener in listeners:
        listener.channel_class = _Channel
        listener.zhifa_edge = _Edge(app, settings)
        listener.maintenance = functools.partial(_maintenance, listener)
    bound_host, bound_port = listeners[0].effective_host, listeners[0].effective_port
    if service in SERVICES:
        app.extensions["zhifa.settings"] = settings.with_bound_url(service, bound_url(bound_host, bound_port))
    if ready:
        ready(bound_host, bound_port)

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
