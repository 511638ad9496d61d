"""Multipart uploads (the archive's evidence files, a copy to verify),
streamed to a temp file on disk while they are hashed: a 2 GB video never
sits in memory, and past the size limit the upload stops with a 413.

    with parse_upload(settings.service_dir("archive") / "uploads", settings.max_upload_bytes) as form:
        upload = form.file("file")              # 422 naming "file" when missing
        meta = form.json_field("meta")          # 422 naming "meta" when not a JSON object
        blobs.put_file(upload.path)             # upload.sha256, upload.size, upload.filename

`filename` is the client's name for display only: the file on disk has a
random name in `directory`, and every temp file is removed when the block ends.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import parse_form_data

from shared.problems import FieldError, Problem, invalid_field

MAX_FORM_FIELD_BYTES = 256 * 1024   # the non-file fields (e.g. "meta" JSON) sit in memory
MAX_PARTS = 20


@dataclass
class Upload:
    path: Path           # the temp file holding the bytes
    size: int
    sha256: str
    filename: str        # as the client named it, directories stripped; never a path on our side
    content_type: str
    field: str


@dataclass
class MultipartForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    _temp_paths: list[Path] = field(default_factory=list)

    def file(self, name: str) -> Upload:
        upload = self.files.get(name)
        if upload is None:
            raise invalid_field(name, "缺少上传的文件（multipart 字段）。")
        return upload

    def json_field(self, name: str) -> dict:
        raw = self.fields.get(name)
        if raw is None:
            raise invalid_field(name, "缺少该字段。")
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError):
            raise invalid_field(name, "须为 JSON 对象。")
        if not isinstance(value, dict):
            raise invalid_field(name, "须为 JSON 对象。")
        return value

    def close(self) -> None:
        for path in self._temp_paths:
            path.unlink(missing_ok=True)

    def __enter__(self) -> MultipartForm:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class _HashingFile:
    """What werkzeug writes a file part into: a temp file that hashes, counts
    and stops at the limit."""

    def __init__(self, directory: Path, max_bytes: int):
        self._fh = tempfile.NamedTemporaryFile(dir=directory, prefix=".upload-", delete=False)
        self.path = Path(self._fh.name)
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise _too_large(self.max_bytes)
        self.digest.update(data)
        return self._fh.write(data)

    def seek(self, *args) -> int:
        return self._fh.seek(*args)

    def read(self, *args) -> bytes:
        return self._fh.read(*args)

    def close(self) -> None:
        self._fh.close()


def parse_upload(directory: Path, max_bytes: int) -> MultipartForm:
    """Parse the current request's multipart/form-data body; each file part
    may hold at most `max_bytes` bytes."""
    if request.mimetype != "multipart/form-data":
        raise Problem(415, "unsupported-media-type", "不支持的媒体类型", "请以 multipart/form-data 上传文件。")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    form = MultipartForm()
    containers: list[_HashingFile] = []

    def stream_factory(**_part_info):   # werkzeug passes sizes, type and name by keyword
        container = _HashingFile(directory, max_bytes)
        containers.append(container)
        form._temp_paths.append(container.path)
        return container

    try:
        _, fields, files = parse_form_data(
            request.environ, stream_factory=stream_factory, max_form_memory_size=MAX_FORM_FIELD_BYTES,
            max_content_length=request.max_content_length, silent=False, max_form_parts=MAX_PARTS)
        form.fields = {name: fields[name] for name in fields}
        for name in files:
            storage = files[name]
            container: _HashingFile = storage.stream
            container.close()
            form.files[name] = Upload(
                path=container.path, size=container.size, sha256=container.digest.hexdigest(),
                filename=PurePosixPath((storage.filename or "").replace("\\", "/")).name,
                content_type=storage.content_type or "application/octet-stream", field=name)
    except RequestEntityTooLarge:
        form.close()
        raise _too_large(max_bytes)
    except ValueError as exc:
        form.close()
        raise Problem(400, "malformed-multipart", "上传内容格式有误",
                      f"multipart/form-data 解析失败：{exc}", [FieldError("body", "请检查上传内容的格式。")])
    except BaseException:
        form.close()
        raise
    finally:
        for container in containers:
            container.close()
    return form


def parse_body(directory: Path, max_bytes: int, name: str = "file", chunk: int = 1 << 20) -> MultipartForm:
    """The current request's whole body as one file (e.g. `Content-Type:
    application/pdf`), streamed to a temp file and hashed like a multipart
    file part, as `form.file(name)`; no multipart parsing (a 200 MB body
    costs one copy)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if request.content_length is not None and request.content_length > max_bytes:
        raise _too_large(max_bytes)
    form = MultipartForm()
    container = _HashingFile(directory, max_bytes)
    form._temp_paths.append(container.path)
    try:
        stream = request.stream
        while data := stream.read(chunk):
            container.write(data)
    except BaseException:
        container.close()
        form.close()
        raise
    container.close()
    if container.size == 0:
        form.close()
        raise invalid_field(name, "请求体为空：请上传文件。")
    form.files[name] = Upload(path=container.path, size=container.size, sha256=container.digest.hexdigest(),
                              filename="", content_type=request.mimetype, field=name)
    return form


def _too_large(limit: int) -> Problem:
    return Problem(413, "payload-too-large", "上传文件过大", f"上传的文件超过 {limit} 字节的上限。",
                   [FieldError("file", f"文件不能超过 {limit} 字节。")])
