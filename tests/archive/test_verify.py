"""Sealing with failed checks, and verifying copies: a flipped byte, an
appended incremental update, a file sealed with another key, a file with no
seal at all."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from pyhanko.pdf_utils.generic import pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from services.archive import seal_keys
from services.archive.sealing import Sealer
from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")
FONT = Path("build/fonts/NotoSerifCJKsc-Bold.otf")


@pytest.fixture
def overridden(archive, tmp_path):
    """A penalty case file missing its required documents, sealed with a reason."""
    app, client = archive
    case = open_case(client, case_type="penalty", archive_number="A012-2026-30-0101", decision_number="鞍审批罚决字〔2026〕第9号")
    assert upload(client, case["id"], "minutes.pdf", samples.simple_pdf(2),
                  {"title": "现场检查记录", "kind": "evidence", "date": "2026-02-01", "author": "执法监督科"}).status_code == 201
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    failed = {c["id"] for c in checks["checks"] if not c["passed"]}
    assert not checks["passed"] and {"required_documents", "fonts_embedded", "malware_scan", "pdfa_conformance"} <= failed
    refused = client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST)
    assert refused.status_code == 409 and refused.get_json()["errors"][0]["path"] == "override_reason"
    reason = "纸质决定书已另行归档（档号 A012-2026-30-0100），经科长批准先行封存电子部分。"
    resp = client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": reason}, headers=ARCHIVIST)
    assert resp.status_code == 202
    body = wait_sealed(client, case["id"])
    assert body["status"] == "sealed" and body["seal"]["override_reason"] == reason
    path = tmp_path / "sealed.pdf"
    path.write_bytes(client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).data)
    return app, client, body, path, reason


def verify(client, data: bytes) -> dict:
    resp = client.post("/v1/verify", data={"file": (io.BytesIO(data), "copy.pdf")}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_override_reason_is_printed_on_the_back_note(overridden):
    _, _, body, path, reason = overridden
    pages = int(body["seal"]["pages"])
    back = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(path), "-"],
                          capture_output=True, text=True).stdout.replace("\n", "").replace(" ", "")
    assert "四性检测未通过项" in back and reason.replace(" ", "")[:20] in back and "未扫描" in back
    assert "全部通过" not in back


def test_one_flipped_byte_is_detected(overridden):
    _, client, _, path, _ = overridden
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    result = verify(client, bytes(data))
    assert not result["valid"] and not result["intact"] and not result["ledger"]["found"]


def test_an_appended_incremental_update_is_detected(overridden, tmp_path):
    _, client, _, path, _ = overridden
    with open(path, "rb") as fh:
        writer = IncrementalPdfFileWriter(fh)
        writer.set_info(None)
        info = writer.root  # touch the catalog: a change after sealing
        info["/Lang"] = pdf_string("en-US")
        writer.update_root()
        out = io.BytesIO()
        writer.write(out)
    result = verify(client, out.getvalue())
    assert result["intact"] and result["modified_after_seal"] and not result["ledger"]["found"]
    assert not result["valid"] and "不是有效的封存文件" in result["findings"][0]
    assert any("文档目录" in c for c in result["changes"]), result["changes"]
    assert result["signed_revision"]["ledger_found"] and result["signed_revision"]["bytes"] == path.stat().st_size
    original = verify(client, path.read_bytes())
    assert original["valid"] and not original["modified_after_seal"] and original["ledger"]["found"]


def test_a_file_sealed_with_another_key_is_not_ours(overridden, tmp_path):
    _, client, _, _, _ = overridden
    seal_keys.make_local_seal(tmp_path / "other", "冒名档案室")
    other = seal_keys.load(tmp_path / "other" / seal_keys.SEAL_FILE, None, tmp_path, "冒名档案室")
    forged = tmp_path / "forged.pdf"
    forged.write_bytes(samples.simple_pdf(1))
    Sealer(other, FONT, "冒名档案室").seal(forged, "A0-0", 0)       # signed in place
    result = verify(client, (tmp_path / "forged.pdf").read_bytes())
    assert result["intact"] and not result["ours"] and not result["valid"]
    assert "冒名" in result["signed_by"] and any("不是本档案馆" in f for f in result["findings"])
    sig = subprocess.run(["pdfsig", str(tmp_path / "forged.pdf")], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig     # a valid signature, just not ours


def test_unsigned_and_garbage_files(overridden):
    _, client, _, _, _ = overridden
    plain = verify(client, samples.simple_pdf(1))
    assert not plain["valid"] and "没有电子印章" in plain["findings"][0]
    garbage = verify(client, b"not a pdf at all")
    assert not garbage["valid"] and not garbage["intact"]
