"""Hostile uploads against the served archive (`zhifa serve archive` in a
process of its own, spoken to over sockets), the one service that takes files
(its items, its pages' uploads and /v1/verify; the generator and the search
service take JSON only, bounded by ZHIFA_MAX_BODY_BYTES). Each attack is
refused with a problem (never a 5xx) and the served process's peak resident
memory (VmHWM) stays within PEAK_GROWTH of what it was before the attacks;
the figures are printed.

The archive's own tests hold the inspection in depth (tests/archive/
test_hostile.py: twenty-one ways to hide active content; test_upload_bounds.py:
polyglots, media lying about their length, the image memory budget); here the
same kinds of file arrive over HTTP, with the attacks that only a served
process meets: lengths that lie, file names that climb out of directories.
"""
from __future__ import annotations

import io
import json
import os
import re
import socket
import time
import uuid
import zipfile
import zlib
from pathlib import Path

import pytest

from tests.archive import samples
from tests.archive.test_hostile import inline_open_action_js, page_aa_launch_cmd, zip_carrying_exe
from tests.conftest import TOKENS, free_port
from tests.e2e import served

ROOT = Path(__file__).resolve().parents[2]
PEAK_GROWTH = 150 * 1024 * 1024
ARCHIVIST = {"Authorization": f"Bearer {TOKENS['archivist']}"}


# --- a served service --------------------------------------------------------------

class Served:
    """`zhifa serve <service>` on a free port (tests/e2e/served.py), with its own data dir and TMPDIR,
    spoken to over raw sockets; its memory read from /proc."""

    def __init__(self, service: str, tmp: Path, **env):
        self.service, self.tmp = service, tmp
        self.tmp_dir = tmp / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.process = served.serve(service, tmp, served.clean_env(
            tmp, TMPDIR=self.tmp_dir, ZHIFA_SOFFICE_POOL_SIZE=1, ZHIFA_VERIFY_RATE_LIMIT="100000 per minute",
            ZHIFA_SEARCH_RATE_LIMIT="100000 per minute", **env))
        self.port, self.proc = self.process.port, self.process.proc
        try:
            self.process.wait_ready(seconds=90)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.stop()

    def memory(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) of the served process, in bytes."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return tuple(int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM"))

    def raw(self, data: bytes, timeout: float = 30.0) -> bytes:
        """Send these bytes; read until the server closes or has answered one complete response."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(data)
            return read_response(sock)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                timeout: float = 30.0) -> tuple[int, dict, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for name, value in {**(headers or {}), "Content-Length": str(len(body))}.items():
            head += f"{name}: {value}\r\n"
        return parse(self.raw(head.encode("utf-8") + b"\r\n" + body, timeout))

    def json(self, method: str, path: str, payload: dict, headers: dict | None = None):
        status, hdrs, body = self.request(method, path, json.dumps(payload, ensure_ascii=False).encode(),
                                          {"Content-Type": "application/json", **(headers or {})})
        return status, hdrs, json.loads(body)

    def upload(self, path: str, filename: str, data: bytes, meta: dict | None, content_type: str,
               field: str = "file", headers: dict | None = None):
        body, ctype = multipart([(field, filename, content_type, data)]
                                + ([("meta", None, None, json.dumps(meta, ensure_ascii=False).encode())]
                                   if meta is not None else []))
        return self.request("POST", path, body, {"Content-Type": ctype, **(headers or {})})


def multipart(parts: list[tuple[str, str | None, str | None, bytes]]) -> tuple[bytes, str]:
    """Bytes exactly as given: a file name is written into the header unescaped, as an attacker would."""
    boundary = uuid.uuid4().hex
    out = b""
    for name, filename, content_type, data in parts:
        out += f"--{boundary}\r\n".encode()
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += disposition.encode("utf-8", "surrogatepass") + b"\r\n"
        if content_type:
            out += f"Content-Type: {content_type}\r\n".encode()
        out += b"\r\n" + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while True:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if length and len(rest) >= int(length.group(1)):
                return data
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def parse(data: bytes) -> tuple[int, dict, bytes]:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def assert_problem(status: int, headers: dict, body: bytes, expected: int | tuple, field: str | None = None) -> dict:
    expected = (expected,) if isinstance(expected, int) else expected
    assert status in expected, (status, body[:400])
    assert headers["content-type"].startswith("application/problem+json"), headers
    problem = json.loads(body)
    assert re.search(r"[\u4e00-\u9fff]", problem["title"]), problem
    if field:
        assert field in [e["path"] for e in problem.get("errors", [])], problem
    return problem


# --- the files ---------------------------------------------------------------------

def zip_bomb_docx(gigabytes: float = 1.0) -> bytes:
    """A .docx (its parts named as Word's) whose document.xml inflates to `gigabytes` of spaces: ~1 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        with zf.open("word/document.xml", "w", force_zip64=True) as member:
            chunk = b" " * (16 * 1024 * 1024)
            for _ in range(int(gigabytes * 1024 / 16)):
                member.write(chunk)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares width×height RGBA pixels, with a few bytes of data."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))


# --- fixtures ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile-archive")
    # Nobody listens on the generator's port; a short channel timeout so that a lying client is dropped soon.
    served = Served("archive", tmp, ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                    ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"], ZHIFA_HTTP_CHANNEL_TIMEOUT=3)
    from tests.archive.conftest import LICENSE_CASE
    status, _, case = served.json("POST", "/v1/case-files", {**LICENSE_CASE, "decision_number": "鞍审批许准字〔2026〕第1号"},
                                  ARCHIVIST)
    assert status == 201, case
    served.case_id = case["id"]
    served.items = f"/v1/case-files/{case['id']}/items"
    # Warm the paths under test with honest files first: the baseline is a process that has done real work.
    for name, data, ctype in (("scan.pdf", samples.simple_pdf(2), "application/pdf"),
                              ("photo.png", samples.png(), "image/png")):
        status, _, body = served.upload(served.items, name, data, {"title": name, "kind": "evidence"}, ctype,
                                        headers=ARCHIVIST)
        assert status == 201, body
    served.baseline = served.memory()
    yield served
    rss, peak = served.memory()
    print(f"\narchive under attack: VmRSS {served.baseline[0] / 2**20:.0f} → {rss / 2**20:.0f} MB, "
          f"VmHWM {served.baseline[1] / 2**20:.0f} → {peak / 2**20:.0f} MB (bound: +{PEAK_GROWTH / 2**20:.0f} MB), "
          f"load {os.getloadavg()}")
    served.stop()


def assert_bounded(served: Served) -> None:
    rss, peak = served.memory()
    assert peak - served.baseline[1] < PEAK_GROWTH, (served.baseline, rss, peak)
    assert served.request("GET", "/healthz", timeout=5)[0] == 200       # and it still answers


# --- the attacks -------------------------------------------------------------------

HOSTILE_PDFS = [("javascript.pdf", inline_open_action_js, "JavaScript"), ("launch.pdf", page_aa_launch_cmd, "启动"),
                ("exe-inside.pdf", zip_carrying_exe, "可执行")]


@pytest.mark.parametrize("name,make,word", HOSTILE_PDFS, ids=[n for n, _, _ in HOSTILE_PDFS])
def test_a_pdf_with_active_content_is_refused_naming_it(archive, name, make, word):
    status, headers, body = archive.upload(archive.items, name, make(), {"title": "证据", "kind": "evidence"},
                                           "application/pdf", headers=ARCHIVIST)
    problem = assert_problem(status, headers, body, 422, "file")
    assert word in json.dumps(problem, ensure_ascii=False), problem
    # The public verification reads it without running anything: not ours, not valid.
    status, headers, body = archive.request("POST", "/v1/verify", make(), {"Content-Type": "application/pdf"})
    assert status == 200 and json.loads(body)["valid"] is False, body[:300]
    assert_bounded(archive)


def test_a_zip_bomb_named_docx_is_refused_unopened(archive):
    bomb = zip_bomb_docx(1.0)
    assert len(bomb) < 3 * 1024 * 1024
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    for name, ctype in (("询问笔录.docx", docx), ("scan.pdf", "application/pdf"), ("x", "application/octet-stream")):
        started = time.monotonic()
        status, headers, body = archive.upload(archive.items, name, bomb, {"title": "笔录", "kind": "evidence"}, ctype,
                                               headers=ARCHIVIST)
        assert_problem(status, headers, body, 422, "file")
        assert time.monotonic() - started < 20
    # Verification reads the copy as a PDF, in its bounded child: not one, so not valid.
    status, headers, body = archive.upload("/v1/verify", "copy.docx", bomb, None, docx)
    assert status == 200 and json.loads(body)["valid"] is False, body[:300]
    assert_bounded(archive)


@pytest.mark.parametrize("width,height", [(20000, 20000), (100000, 100000), (2**31 - 1, 1), (1, 2**31 - 1)])
def test_a_png_of_a_huge_pixel_count_is_refused_before_decoding(archive, width, height):
    data = png_declaring(width, height)
    status, headers, body = archive.upload(archive.items, "photo.png", data, {"title": "照片", "kind": "evidence"},
                                           "image/png", headers=ARCHIVIST)
    assert_problem(status, headers, body, 422, "file")
    status, headers, body = archive.upload(archive.items, "bomb.png", samples.png_bomb(30000),
                                           {"title": "照片", "kind": "evidence"}, "image/png", headers=ARCHIVIST)
    assert_problem(status, headers, body, 422, "file")
    assert_bounded(archive)


def test_a_declared_length_never_sent_holds_nothing_and_is_dropped(archive):
    """1.9 GB declared (under the 2 GB upload limit), 1 KB sent, then silence: the connection is dropped
    after the channel timeout, the service answers others meanwhile, and nothing is spooled."""
    body, ctype = multipart([("file", "scan.pdf", "application/pdf", b"%PDF-1.7\n" + b"0" * 1000)])
    sockets = []
    for path in (archive.items, "/v1/verify"):
        sock = socket.create_connection(("127.0.0.1", archive.port), timeout=30)
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKENS['archivist']}\r\n"
                     f"Content-Type: {ctype}\r\nContent-Length: 1900000000\r\n\r\n".encode() + body[:1024])
        sockets.append(sock)
    started = time.monotonic()
    assert archive.request("GET", "/healthz", timeout=5)[0] == 200
    for sock in sockets:
        with sock:
            sock.settimeout(30)
            leftover = read_response(sock)        # the server closes it: nothing, or a problem
            assert time.monotonic() - started < 25
            if leftover:
                assert parse(leftover)[0] < 500, leftover[:300]
    spooled = [p.stat().st_size for p in archive.tmp_dir.rglob("*") if p.is_file()]
    assert sum(spooled) < 1_000_000, spooled
    assert_bounded(archive)


def test_a_body_longer_than_declared_is_read_as_declared_and_the_rest_refused(archive):
    """Content-Length 200, then 20 MB: the first 200 bytes are the request (a broken multipart: a
    problem), the rest is not a request (a problem, the connection closed); never a 5xx."""
    head = (f"POST {archive.items} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKENS['archivist']}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 200\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", archive.port), timeout=30) as sock:
        sock.sendall(head + b"--b\r\n" + b"A" * 195)
        first = read_response(sock)
        status, headers, body = parse(first)
        assert_problem(status, headers, body, (400, 422))
        try:
            for _ in range(20):
                sock.sendall(b"B" * 1_000_000)
        except (BrokenPipeError, ConnectionResetError):
            pass                                   # the server gave up on the garbage: fine
        sock.settimeout(10)
        rest = read_response(sock)
        if rest:
            assert parse(rest)[0] in (400, 413, 431), rest[:300]
    assert_bounded(archive)


TRAVERSALS = ["../../../../../../tmp/PWNED-{u}.pdf", "/tmp/PWNED-{u}.pdf", "..\\..\\..\\PWNED-{u}.pdf",
              "scan\x00/../../PWNED-{u}.pdf", "．．／．．／PWNED-{u}.pdf", "\u2024\u2024/\u2024\u2024/PWNED-{u}.pdf",
              "%2e%2e%2f%2e%2e%2fPWNED-{u}.pdf", "....//....//PWNED-{u}.pdf"]


@pytest.mark.parametrize("pattern", TRAVERSALS)
def test_a_file_name_that_climbs_out_stays_a_name(archive, pattern):
    """Kept as a display name without directories; nothing is written anywhere but the blob store."""
    marker = uuid.uuid4().hex[:12]
    name = pattern.format(u=marker)
    status, headers, body = archive.upload(archive.items, name, samples.simple_pdf(1), {"title": "扫描件", "kind": "evidence"},
                                           "application/pdf", headers=ARCHIVIST)
    if status == 201:
        item = json.loads(body)
        assert not re.search(r"[/\\\x00]", item["filename"] or ""), item["filename"]
        path = re.sub(r"^https?://[^/]+", "", item["original_url"])     # the configured base, not this port
        status, hdrs, data = archive.request("GET", path, headers=ARCHIVIST)
        assert status == 200 and data.startswith(b"%PDF"), status
        assert not re.search(r"[/\\]", hdrs.get("content-disposition", "").split("filename", 1)[-1]), hdrs
    else:
        assert_problem(status, headers, body, (400, 422))
    planted = _planted(archive, marker)
    assert not planted, planted
    assert_bounded(archive)


def _planted(archive: Served, marker: str) -> list[str]:
    """Files named after the marker anywhere an upload could have climbed to."""
    found = []
    for root in (Path("/tmp"), archive.tmp, ROOT):
        depth_limited = root.glob(f"*PWNED-{marker}*") if root != archive.tmp else root.rglob(f"*PWNED-{marker}*")
        found += [str(p) for p in depth_limited]
    return found


def test_part_names_that_climb_out_are_only_unknown_fields(archive):
    body, ctype = multipart([("../../file", "scan.pdf", "application/pdf", samples.simple_pdf(1)),
                             ("/etc/passwd", None, None, b"x"),
                             ("meta", None, None, json.dumps({"title": "扫描件", "kind": "evidence"}).encode())])
    status, headers, answer = archive.request("POST", archive.items, body, {"Content-Type": ctype, **ARCHIVIST})
    assert_problem(status, headers, answer, 422, "file")
    assert_bounded(archive)


def test_the_pages_upload_form_refuses_the_same_files(archive):
    """The archivists' page takes uploads through the same intake: each hostile file is refused (the
    page says why) and the case file gains no item."""
    import requests
    base = f"http://127.0.0.1:{archive.port}"
    with requests.Session() as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get(base + "/login", timeout=30).text).group(1)
        assert browser.post(base + "/login", data={"csrf": csrf, "token": TOKENS["archivist"]}, timeout=30).ok
        page = browser.get(f"{base}/case-files/{archive.case_id}", timeout=30).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        before = _item_count(archive)
        docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        for name, data, ctype, word in (("javascript.pdf", inline_open_action_js(), "application/pdf", "JavaScript"),
                                        ("询问笔录.docx", zip_bomb_docx(0.5), docx, "无法识别"),
                                        ("photo.png", png_declaring(100000, 100000), "image/png", "像素")):
            resp = browser.post(f"{base}/case-files/{archive.case_id}/uploads", params={"csrf": csrf},
                                data={"title": "证据", "kind": "evidence"}, files={"file": (name, data, ctype)},
                                timeout=60)
            assert resp.status_code == 200 and word in resp.text and "已上传" not in resp.text, (name, resp.status_code)
        assert _item_count(archive) == before
    assert_bounded(archive)


def _item_count(archive: Served) -> int:
    status, _, body = archive.request("GET", f"/v1/case-files/{archive.case_id}", headers=ARCHIVIST)
    assert status == 200
    return json.loads(body)["item_count"]
