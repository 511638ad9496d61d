"""Verify, attacked and relied on: a copy changed after sealing (a line
whited out, an annotation added, only a trailer appended) is not valid,
says what changed and gives back the sealed revision; hostile copies (a
huge signature value, deep nesting, a validator that would not stop) are
refused with a problem naming `file` within a memory and time budget; a
sealed file larger than any upload can still be verified."""
from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pikepdf
import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from services.archive import verification
from shared.problems import Problem
from tests.archive import samples
from tests.archive.conftest import archive_env, open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def small_limits(zhifa_env, generator, seal_p12, tmp_path):
    """An archive whose uploads may be at most 60 KB, with one sealed case file larger than that."""
    from services.archive.app import create_app
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_MAX_UPLOAD_BYTES=60_000,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    client = app.test_client()
    case = open_case(client, case_type="penalty", archive_number="A012-2026-30-0201",
                     decision_number="鞍审批罚决字〔2026〕第21号")
    meta = {"title": "现场检查记录", "kind": "evidence", "date": "2026-02-01", "author": "执法监督科"}
    for n in range(2):
        assert upload(client, case["id"], f"scan{n}.jpg", samples.scan_jpeg(dpi=60, text=f"PAGE {n}"),
                      meta).status_code == 201
    assert upload(client, case["id"], "big.pdf", samples.simple_pdf(1) + b" " * 70_000, meta).status_code == 413
    assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：必备文书另行归档"},
                       headers=ARCHIVIST).status_code == 202
    body = wait_sealed(client, case["id"])
    assert body["status"] == "sealed", body
    sealed = client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).data
    yield app, client, body, sealed
    app.extensions["zhifa.runtime"].close()


def verify(client, data: bytes, path: str = "/v1/verify"):
    return client.post(path, data={"file": (io.BytesIO(data), "copy.pdf")}, content_type="multipart/form-data")


def incremental(sealed: bytes, change) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def white_out(writer):
    """Paint a white box over a line of the first content page (page 3: after cover and contents)."""
    page = writer.find_page_for_modification(2)[0].get_object()
    box = generic.StreamObject(stream_data=b"q 1 g 60 600 400 40 re f Q")
    contents = page["/Contents"]
    items = list(contents) if isinstance(contents, generic.ArrayObject) else [page.raw_get("/Contents")]
    page["/Contents"] = generic.ArrayObject(items + [writer.add_object(box)])
    writer.update_container(page)


def add_annotation(writer):
    page = writer.find_page_for_modification(3)[0].get_object()
    note = generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Text"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (50, 50, 70, 70)]),
        generic.NameObject("/Contents"): generic.pdf_string("已核对"),
    })
    annots = page.get("/Annots")
    page["/Annots"] = generic.ArrayObject((list(annots) if annots else []) + [writer.add_object(note)])
    writer.update_container(page)


def trailer_only(sealed: bytes) -> bytes:
    """A new trailer and (empty) cross-reference section, changing no object."""
    with pikepdf.open(io.BytesIO(sealed)) as pdf:
        size, root = int(pdf.trailer.Size), pdf.Root.objgen
    prev = int(sealed[sealed.rindex(b"startxref") + 9:].split()[0])
    offset = len(sealed) + 1
    return sealed + (f"\nxref\n0 0\ntrailer\n<< /Size {size} /Root {root[0]} {root[1]} R /Prev {prev} >>\n"
                     f"startxref\n{offset}\n%%EOF\n").encode()


@pytest.mark.parametrize("kind", ["white_out", "annotation", "trailer"])
def test_a_copy_changed_after_sealing_is_not_valid_and_says_what_changed(small_limits, kind):
    _, client, body, sealed = small_limits
    copy = {"white_out": lambda: incremental(sealed, white_out),
            "annotation": lambda: incremental(sealed, add_annotation),
            "trailer": lambda: trailer_only(sealed)}[kind]()
    resp = verify(client, copy)
    result = resp.get_json()
    assert resp.status_code == 200, result
    assert result["intact"] and result["ours"] and result["modified_after_seal"] and not result["valid"]
    assert "不是有效的封存文件" in result["findings"][0]
    expected = {"white_out": "第 3 页的页面内容被改动", "annotation": "第 4 页增加或改动了批注", "trailer": "仅追加了文件尾"}[kind]
    assert any(expected in change for change in result["changes"]), result["changes"]
    revision = result["signed_revision"]
    assert revision == {"bytes": len(sealed), "sha256": body["seal"]["sha256"], "ledger_found": True,
                        "archive_number": "A012-2026-30-0201"}
    # The sealed revision itself, cut from the copy: byte for byte the file in the ledger.
    cut = verify(client, copy, "/v1/verify/signed-revision")
    assert cut.status_code == 200 and cut.mimetype == "application/pdf"
    assert hashlib.sha256(cut.data).hexdigest() == body["seal"]["sha256"]
    again = verify(client, cut.data).get_json()
    assert again["valid"] and again["ledger"]["found"] and not again["changes"]


def test_no_sealed_revision_is_given_for_a_file_without_our_intact_seal(small_limits):
    _, client, _, sealed = small_limits
    broken = bytearray(sealed)
    broken[len(broken) // 2] ^= 1
    for data in (samples.simple_pdf(1), bytes(broken)):
        resp = verify(client, data, "/v1/verify/signed-revision")
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "file"


def test_a_sealed_file_larger_than_any_upload_is_verified(small_limits):
    app, client, _, sealed = small_limits
    assert len(sealed) > 60_000
    result = verify(client, sealed).get_json()
    assert result["valid"] and result["ledger"]["found"]
    limit = verification.max_verify_bytes(60_000)
    assert verify(client, sealed + b"\n" * (limit - len(sealed) + 1)).status_code == 413
    # the PDF itself as the body: the same answer, no multipart parsing
    raw = client.post("/v1/verify", data=sealed, content_type="application/pdf").get_json()
    assert raw == result
    empty = client.post("/v1/verify", data=b"", content_type="application/pdf")
    assert empty.status_code == 422 and empty.get_json()["errors"][0]["path"] == "file"
    too_big = client.post("/v1/verify", data=sealed + b"\n" * limit, content_type="application/pdf")
    assert too_big.status_code == 413


def hostile_signature(contents_hex_bytes: int, nesting: int = 0) -> bytes:
    """A PDF with a signature field whose /Contents is a `contents_hex_bytes`-long hex string."""
    pdf = pikepdf.open(io.BytesIO(samples.simple_pdf(1)))
    value = pikepdf.Array([0])
    for _ in range(nesting):
        value = pikepdf.Array([value])
    sig = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"),
                                               SubFilter=pikepdf.Name("/ETSI.CAdES.detached"),
                                               ByteRange=pikepdf.Array([0, 10, 20, 10]), Deep=value,
                                               Contents=pikepdf.String(b"\x00")))
    field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Seal"), V=sig,
                                                 Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
                                                 Rect=pikepdf.Array([0, 0, 0, 0])))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]), SigFlags=3)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=False)
    data = out.getvalue()
    if contents_hex_bytes:
        data = data.replace(b"/Contents <00>", b"/Contents <" + b"0" * contents_hex_bytes + b">")
        with pikepdf.open(io.BytesIO(data)) as check:     # still a readable PDF (xref recovered)
            assert len(bytes(check.Root.AcroForm.Fields[0].V.Contents)) == contents_hex_bytes // 2
    return data


def array_bomb(numbers: int) -> bytes:
    """A signed-looking PDF whose signature dictionary holds an array of `numbers` zeros (2 bytes each on disk)."""
    data = hostile_signature(0)
    assert b"/Deep [ 0 ]" in data
    return data.replace(b"/Deep [ 0 ]", b"/Deep [ " + b"0 " * numbers + b"]")


@pytest.mark.parametrize("kind", ["huge /Contents", "array bomb"])
def test_hostile_copies_are_refused_within_the_memory_budget(archive, tmp_path, kind):
    """A 25 MB hex signature value (pyHanko: 49 s, +4.5 GB before), and a 16 MB
    array of 8 million numbers (qpdf: ~1.5 GB to parse): refused with a
    problem (or, for the array, not valid), and the serving process does not
    grow: the parsing happens in the bounded child (measured in a fresh process)."""
    _, client = archive
    data = hostile_signature(25_000_000) if kind == "huge /Contents" else array_bomb(8_000_000)
    resp = verify(client, data)
    if kind == "huge /Contents":
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "file"
        assert "字符串超过" in resp.get_json()["detail"]
    else:   # qpdf, short of memory in the child, may drop the object while it rebuilds the xref: not valid either way
        body = resp.get_json()
        assert (resp.status_code == 422 and body["errors"][0]["path"] == "file") or \
            (resp.status_code == 200 and not body["valid"]), body
    path = tmp_path / "hostile.pdf"
    path.write_bytes(data)
    script = textwrap.dedent(f"""
        import json, resource, sys, time
        from services.archive.verification import Verifier
        from shared.problems import Problem
        class NoLedger:
            def find(self, sha): return None
        def hwm():   # VmHWM: ru_maxrss would carry over the parent's peak across fork+exec
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
        base = hwm()
        started = time.monotonic()
        try:
            Verifier([], NoLedger()).verify(__import__("pathlib").Path({str(path)!r}))
            outcome = "accepted"
        except Problem as problem:
            outcome = problem.type
        print(json.dumps({{"outcome": outcome, "seconds": time.monotonic() - started, "peak_mb": hwm(),
                           "base_mb": base,
                           "child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    print(kind, figures)
    assert figures["outcome"] == "verify-refused" or kind == "array bomb"
    # the serving process stays where it was; the child stays within its limit
    assert figures["peak_mb"] - figures["base_mb"] < 50 and figures["seconds"] < 25, figures
    assert figures["child_peak_mb"] < figures["base_mb"] + verification.VALIDATE_MEMORY_BYTES / 2**20 + 50, figures


def test_deep_nesting_is_refused(small_limits):
    _, client, _, _ = small_limits
    resp = verify(client, hostile_signature(0, nesting=verification.MAX_VERIFY_NESTING + 10))
    assert resp.status_code == 422 and "嵌套" in resp.get_json()["detail"]


def test_the_validator_runs_under_a_memory_limit_and_a_deadline():
    started = time.monotonic()
    with pytest.raises(Problem) as caught:
        verification.run_bounded(lambda: {"x": bytearray(2 * 1024 ** 3)}, 10, 256 * 1024 ** 2)
    assert "内存" in caught.value.detail and time.monotonic() - started < 5
    with pytest.raises(Problem) as caught:
        verification.run_bounded(lambda: time.sleep(30), 1, 256 * 1024 ** 2)
    assert "秒" in caught.value.detail and time.monotonic() - started < 8
    assert verification.run_bounded(lambda: {"answer": 42}, 5, 256 * 1024 ** 2) == {"answer": 42}
    assert "ZeroDivisionError" in verification.run_bounded(lambda: {"x": 1 / 0}, 5, 256 * 1024 ** 2)["error"]
