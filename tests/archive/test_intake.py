"""What the archive takes in and what it refuses: hostile and broken uploads
are refused with a problem naming `file`, and nothing is stored; scans
become A4 PDF pages losslessly; the generator's documents come with their
hashes checked, and a generator that cannot be reached changes nothing."""
from __future__ import annotations

import io
import uuid

import pikepdf
import pytest

from tests.archive import samples
from tests.archive.conftest import archive_env, open_case, upload
from tests.conftest import auth

ARCHIVIST = auth("archivist")


def pdf_with(action: dict | None = None, attach: tuple[str, bytes] | None = None) -> bytes:
    pdf = pikepdf.open(io.BytesIO(samples.simple_pdf(1)))
    if action:
        pdf.Root.OpenAction = pdf.make_indirect(pikepdf.Dictionary(action))
    if attach:
        pdf.attachments[attach[0]] = pikepdf.AttachedFileSpec(pdf, attach[1], filename=attach[0])
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def encrypted_pdf() -> bytes:
    pdf = pikepdf.open(io.BytesIO(samples.simple_pdf(1)))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user="user"))
    return out.getvalue()


def stored_blobs(app) -> int:
    return sum(1 for p in app.extensions["zhifa.runtime"].blobs.root.rglob("*") if p.is_file() and len(p.name) == 64)


HOSTILE = [
    ("empty.pdf", b"", "为空"),
    ("report.pdf", b"MZ\x90\x00" + b"\x00" * 200, "可执行"),
    ("evidence.bin", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "可执行"),
    ("notes.txt", b"#!/bin/sh\nrm -rf /\n", "可执行"),
    ("tool.exe", samples.simple_pdf(1), "可执行"),
    ("photo.pdf", samples.png(), "不符"),
    ("archive.zip", b"PK\x03\x04" + b"\x00" * 100, "无法识别"),
    ("js.pdf", pdf_with({"/S": pikepdf.Name.JavaScript, "/JS": "app.alert(1)"}), "JavaScript"),
    ("launch.pdf", pdf_with({"/S": pikepdf.Name.Launch, "/F": "cmd.exe"}), "启动"),
    ("carrier.pdf", pdf_with(attach=("payload.exe", b"MZ" + b"\x00" * 64)), "可执行"),
    ("locked.pdf", encrypted_pdf(), "加密"),
    ("broken.pdf", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\ngarbage", "损坏"),
    ("cut.jpg", samples.scan_jpeg()[:3000], "损坏"),
    ("bomb.png", samples.png_bomb(), "像素"),
    ("noise.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 50, "损坏"),
]


@pytest.mark.parametrize("name,data,says", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_uploads_are_refused_and_nothing_is_stored(archive, name, data, says):
    app, client = archive
    case = open_case(client, decision_number="鞍审批许准字〔2026〕第1号")
    before = stored_blobs(app)
    resp = upload(client, case["id"], name, data, {"title": "证据", "kind": "evidence", "date": "2026-03-03"})
    body = resp.get_json()
    assert resp.status_code == 422, body
    assert body["errors"][0]["path"] == "file" and says in body["errors"][0]["message"] + body.get("detail", ""), body
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"] == []
    assert stored_blobs(app) == before
    assert not list((app.extensions["zhifa.settings"].data_dir / "archive" / "uploads").glob("*"))


def test_meta_errors_name_their_field(archive):
    _, client = archive
    case = open_case(client, decision_number="鞍审批许准字〔2026〕第1号")
    resp = upload(client, case["id"], "a.pdf", samples.simple_pdf(1),
                  {"title": "", "kind": "photo", "date": "2026-02-30", "category": "nonsense"})
    paths = {e["path"] for e in resp.get_json()["errors"]}
    assert resp.status_code == 422 and {"meta/title", "meta/kind", "meta/date"} <= paths


def test_scans_become_a4_pages_losslessly_with_exif_orientation(archive, tmp_path):
    app, client = archive
    case = open_case(client, decision_number="鞍审批许准字〔2026〕第1号")
    scan = samples.scan_jpeg(dpi=100)
    for name, data, meta in [("a4.jpg", scan, {"title": "A4 扫描件", "kind": "evidence"}),
                             ("turned.jpg", samples.scan_jpeg(dpi=100, orientation=6), {"title": "旋转照片", "kind": "evidence"}),
                             ("../../etc/seal.png", samples.png(alpha=True), {"title": "透明底图片", "kind": "evidence"})]:
        resp = upload(client, case["id"], name, data, {**meta, "date": "2026-03-04"})
        assert resp.status_code == 201, resp.get_json()
    items = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"]
    by_title = {i["title"]: i for i in items}
    assert by_title["透明底图片"]["filename"] == "seal.png"      # never a path
    rt = app.extensions["zhifa.runtime"]
    cf = rt.case_files.get(case["id"])
    renditions = {i.title: i for i in cf.items}
    with pikepdf.open(rt.blobs.path(renditions["A4 扫描件"].pdf_sha256)) as pdf:
        w, h = (float(v) for v in pdf.pages[0].mediabox[2:])
        assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2            # DPI kept: A4 comes out A4
        image = next(iter(pdf.pages[0].resources.XObject.values()))
        assert image.read_raw_bytes() == scan                         # the JPEG itself, not re-encoded
    with pikepdf.open(rt.blobs.path(renditions["旋转照片"].pdf_sha256)) as pdf:
        assert int(pdf.pages[0].obj.get("/Rotate", 0)) == 90          # EXIF orientation 6
    assert rt.blobs.get(renditions["A4 扫描件"].original_sha256) == scan   # the original, byte for byte


def test_upload_past_the_limit_is_413(zhifa_env, generator, seal_p12, tmp_path):
    from services.archive.app import create_app
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_MAX_UPLOAD_BYTES=50_000,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    client = app.test_client()
    case = open_case(client, decision_number="鞍审批许准字〔2026〕第1号")
    resp = upload(client, case["id"], "big.jpg", samples.scan_jpeg(dpi=200), {"title": "大图", "kind": "evidence"})
    assert resp.status_code == 413 and resp.get_json()["errors"][0]["path"] in ("file", "body")
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"] == []
    app.extensions["zhifa.runtime"].close()


def test_generated_document_hash_checked_and_unknown_ids_named(archive, license_documents):
    _, client = archive
    case = open_case(client, decision_number=license_documents[1]["number"])
    resp = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": license_documents[1]["id"]},
                       headers=ARCHIVIST)
    item = resp.get_json()
    assert resp.status_code == 201 and item["sha256"] == license_documents[1]["files"]["pdf"]["sha256"]
    assert item["number"] == license_documents[1]["number"] and item["category"] == "decision"
    again = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": license_documents[1]["id"]},
                        headers=ARCHIVIST)
    assert again.status_code == 409
    unknown = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": str(uuid.uuid4())},
                          headers=ARCHIVIST)
    assert unknown.status_code == 422 and unknown.get_json()["errors"][0]["path"] == "document_id"


def test_generator_unreachable_is_503_and_changes_nothing(zhifa_env, seal_p12, tmp_path):
    from services.archive.app import create_app
    from tests.archive.conftest import free_port
    app = create_app(zhifa_env(ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}", ZHIFA_GENERATOR_TOKEN="x",
                               ZHIFA_SEAL_PKCS12=seal_p12,
                               ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    client = app.test_client()
    case = open_case(client, decision_number="鞍审批许准字〔2026〕第1号")
    resp = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": str(uuid.uuid4())}, headers=ARCHIVIST)
    assert resp.status_code == 503 and resp.content_type.startswith("application/problem+json")
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"] == []
    app.extensions["zhifa.runtime"].close()


def test_case_file_fields_are_checked(archive):
    _, client = archive
    resp = client.post("/v1/case-files", json={"archive_number": "A/../1", "case_type": "other", "retention": "5年",
                                               "opened_on": "2026-03-05", "closed_on": "2026-03-01"},
                       headers=ARCHIVIST)
    paths = {e["path"] for e in resp.get_json()["errors"]}
    assert resp.status_code == 422 and {"archive_number", "retention", "fonds", "title"} <= paths
    assert client.post("/v1/case-files", json={}, headers=auth("case-system")).status_code == 403
    open_case(client, decision_number="X1")
    taken = client.post("/v1/case-files", json={**_case(), "decision_number": "X1"}, headers=ARCHIVIST)
    assert taken.status_code == 409


def _case():
    from tests.archive.conftest import LICENSE_CASE
    return dict(LICENSE_CASE)
