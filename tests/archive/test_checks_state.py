"""A check that did not run is not a pass: without a malware scanner a
case file that is otherwise complete does not pass its checks, cannot be
sealed without a reason, and its back note never says 全部通过; the PDF/A
check says which rules it checked."""
from __future__ import annotations

import subprocess

from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")


def test_an_unscanned_file_is_not_passed_and_needs_a_reason(archive, license_documents, tmp_path):
    _, client = archive
    accepted, granted, receipt = license_documents
    case = open_case(client, decision_number=granted["number"], archive_number="A012-2026-Y-0031")
    for doc in (accepted, granted, receipt):
        assert client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]},
                           headers=ARCHIVIST).status_code == 201
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    by_id = {c["id"]: c for c in checks["checks"]}
    assert [c["id"] for c in checks["checks"] if not c["passed"]] == ["malware_scan"]
    scan = by_id["malware_scan"]
    assert not checks["passed"] and scan["status"] == "not_scanned" and "未扫描" in scan["detail"]
    pdfa = by_id["pdfa_conformance"]
    assert pdfa["passed"] and "3 件声明 PDF/A" in pdfa["detail"] and "输出意图" in pdfa["detail"]
    assert "veraPDF" in pdfa["detail"]            # says it is not a full validation
    active = by_id["active_content"]
    assert active["passed"] and "3 个 PDF" in active["detail"] and "动作链" in active["detail"]
    refused = client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST)
    assert refused.status_code == 409 and refused.get_json()["errors"][0]["path"] == "override_reason"
    reason = "本机未部署恶意代码扫描服务，经科长批准封存。"
    assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": reason},
                       headers=ARCHIVIST).status_code == 202
    body = wait_sealed(client, case["id"])
    path = tmp_path / "sealed.pdf"
    path.write_bytes(client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).data)
    pages = int(body["seal"]["pages"])
    back = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), str(path), "-"],
                          capture_output=True, text=True).stdout.replace("\n", "").replace(" ", "")
    assert "未扫描" in back and "全部通过" not in back and reason[:10] in back


def test_a_scan_pdf_is_checked_on_the_content_rules_only(archive, tmp_path):
    """An img2pdf scan claims no PDF/A: it is not failed for lacking XMP, only for what it holds."""
    _, client = archive
    case = open_case(client, archive_number="A012-2026-Y-0032", decision_number="鞍审批许字〔2026〕第32号")
    added = upload(client, case["id"], "scan.jpg", samples.scan_jpeg(),
                   {"title": "身份证复印件", "kind": "evidence", "category": "identity", "date": "2026-03-02",
                    "author": "鞍山示例商贸有限公司"})
    assert added.status_code == 201, added.get_json()["errors"]
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    pdfa = next(c for c in checks["checks"] if c["id"] == "pdfa_conformance")
    assert pdfa["passed"] and "1 件未声明 PDF/A" in pdfa["detail"]
