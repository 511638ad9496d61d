"""Calls from one zhifa service to another (the archive and search services
call the generator), over HTTP with httpx.

- base URL and bearer token from settings (`ServiceClient.for_service`);
- timeouts on connect and on each read;
- one retry when the connection could not be made (the request never left),
  and for idempotent methods (GET, HEAD, PUT, DELETE) also when the answer
  was lost; a POST that may have reached the server is never sent twice, and
  nothing is sent again after a read timeout (the caller would wait twice);
- the caller's request id (X-Request-ID) is passed on, so one id follows a
  request through every service's logs;
- what goes wrong upstream becomes our own problem: unreachable or
  overloaded → 503, a broken or unexpected answer → 502 (Chinese titles).
  A 4xx answer raises `UpstreamRefused`, carrying the upstream status and
  problem, so the caller can turn e.g. a 404 into a 422 naming its field.

    generator = ServiceClient.for_service(settings, "generator")
    doc = generator.get_json(f"/v1/documents/{document_id}")
"""
from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from shared import logs
from shared.config import Settings
from shared.problems import Problem

log = logging.getLogger("zhifa.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
SERVICE_NAMES = {"generator": "文书生成服务", "archive": "电子档案服务", "search": "公示查询服务"}
RETRY_PAUSE = 0.2


class UpstreamRefused(Problem):
    """The other service answered 4xx. Uncaught, it is our 502: we asked it wrongly."""

    def __init__(self, service: str, status: int, problem: dict | None):
        self.upstream_status = status
        self.upstream_problem = problem or {}
        super().__init__(502, "upstream-refused", f"{_name(service)}拒绝了请求",
                         f"{_name(service)}答复 {status}：{self.upstream_problem.get('title', '')}".rstrip("："))


class ServiceClient:
    def __init__(self, service: str, base_url: str, token: str | None = None, *,
                 connect_timeout: float = 3.0, read_timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None):
        self.service = service
        headers = {"Accept": "application/json", "User-Agent": "zhifa-service-client"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, follow_redirects=False,
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            transport=transport or httpx.HTTPTransport(retries=0))

    @classmethod
    def for_service(cls, settings: Settings, service: str, **kwargs) -> ServiceClient:
        """A client for `service` at its configured URL, with the token for calling the generator."""
        token = settings.generator_token if service == "generator" else None
        return cls(service, settings.service_url(service), token, **kwargs)

    # -- calls ---------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send once (twice where safe); a 5xx or a network failure raises our
        502/503 problem, a 4xx raises UpstreamRefused; a 2xx/3xx is returned."""
        response = self._send(method.upper(), path, stream=False, **kwargs)
        self._raise_for_status(response)
        return response

    def get_json(self, path: str, params: dict | None = None) -> Any:
        return self._json(self.request("GET", path, params=params))

    def post_json(self, path: str, body: Any, idempotency_key: str | None = None) -> Any:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._json(self.request("POST", path, json=body, headers=headers))

    def download(self, path: str, directory: Path, max_bytes: int) -> tuple[Path, str, int]:
        """Stream a file to a temp file in `directory`: (path, sha256, size).
        The caller moves or removes the file."""
        directory.mkdir(parents=True, exist_ok=True)
        response = self._send("GET", path, stream=True)
        try:
            self._raise_for_status(response)
            digest, size = hashlib.sha256(), 0
            with tempfile.NamedTemporaryFile(dir=directory, prefix=".download-", delete=False) as fh:
                target = Path(fh.name)
                try:
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise self._bad_answer(f"文件超过 {max_bytes} 字节的上限")
                        digest.update(chunk)
                        fh.write(chunk)
                except BaseException as exc:
                    target.unlink(missing_ok=True)
                    if isinstance(exc, httpx.TimeoutException):
                        raise self._timed_out(exc) from exc
                    if isinstance(exc, httpx.TransportError):
                        raise self._unavailable(exc) from exc
                    raise
            return target, digest.hexdigest(), size
        finally:
            response.close()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ServiceClient:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # -- internals -------------------------------------------------------------

    def _send(self, method: str, path: str, stream: bool, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        request_id = logs.request_id.get()
        if request_id != "-":
            headers["X-Request-ID"] = request_id
        request = self._client.build_request(method, path, headers=headers, **kwargs)
        for attempt in (1, 2):
            try:
                return self._client.send(request, stream=stream)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                failure = exc                      # never reached the server: safe to send again
            except httpx.TimeoutException as exc:
                # Reached it and no answer within the read timeout: a second wait would double the
                # caller's (2 min for the archive), and the server is busy or hung, not flaky.
                raise self._timed_out(exc)
            except httpx.TransportError as exc:    # sent, then the answer was lost
                if method not in IDEMPOTENT:
                    raise self._unavailable(exc)
                failure = exc
            if attempt == 1:
                log.warning("%s %s %s failed (%s); retrying once", self.service, method, path, type(failure).__name__)
                time.sleep(RETRY_PAUSE)
        raise self._unavailable(failure)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 400:
            return
        if status >= 500:
            if status in (503, 504):
                raise Problem(503, "upstream-unavailable", f"{_name(self.service)}暂不可用",
                              f"{_name(self.service)}暂时无法处理请求（{status}），请稍后重试。")
            raise self._bad_answer(f"答复 {status}")
        if not response.is_stream_consumed:
            response.read()
        try:
            problem = response.json()
        except ValueError:
            problem = None
        raise UpstreamRefused(self.service, status, problem if isinstance(problem, dict) else None)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._bad_answer("答复不是 JSON")

    def _bad_answer(self, why: str) -> Problem:
        log.warning("%s gave a bad answer: %s", self.service, why)
        return Problem(502, "upstream-bad-answer", f"{_name(self.service)}答复有误",
                       f"{_name(self.service)}的答复无法使用（{why}），请稍后重试或联系管理员。")

    def _unavailable(self, exc: Exception) -> Problem:
        log.warning("%s unreachable: %s: %s", self.service, type(exc).__name__, exc)
        return Problem(503, "upstream-unavailable", f"{_name(self.service)}暂不可用",
                       f"暂时无法连接{_name(self.service)}，请稍后重试。")


    def _timed_out(self, exc: Exception) -> Problem:
        log.warning("%s did not answer in time: %s", self.service, type(exc).__name__)
        return Problem(504, "upstream-timeout", f"{_name(self.service)}未及时答复",
                       f"{_name(self.service)}在规定时间内没有答复，请稍后重试。")


def _name(service: str) -> str:
    return SERVICE_NAMES.get(service, service)
