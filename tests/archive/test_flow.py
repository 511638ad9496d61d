"""The archivist's whole flow against a real generator: open a license case
file, add the generated documents and evidence, read the checks, seal,
download, verify, hand over. Checked the way a court or archive would:
poppler's pdfsig, the page labels and numbers a reader shows, bagit."""
from __future__ import annotations

import re
import subprocess
import tarfile

import bagit
import pikepdf
import pytest

from services.archive.eep import verify_eep
from services.archive.inspection import pdfa_conformance
from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")


def page_text(pdf_path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf_path), "-"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def sealed_case(scanned_archive, license_documents, tmp_path):
    app, client = scanned_archive
    accepted, granted, receipt = license_documents
    case = open_case(client, decision_number=granted["number"])
    for doc in (receipt, accepted, granted):       # added out of order on purpose
        resp = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]}, headers=ARCHIVIST)
        assert resp.status_code == 201, resp.get_json()
    assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(orientation=6),
                  {"title": "营业执照复印件", "kind": "evidence", "category": "identity", "date": "2026-03-02",
                   "author": "鞍山示例商贸有限公司"}).status_code == 201
    assert upload(client, case["id"], "site.wav", samples.wav(3),
                  {"title": "现场核查录音", "kind": "evidence", "date": "2026-03-10", "author": "社会事务审批科"}).status_code == 201
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    assert checks["passed"], checks
    resp = client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST)
    assert resp.status_code == 202, resp.get_json()
    body = wait_sealed(client, case["id"])
    assert body["status"] == "sealed", body
    pdf = client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    path = tmp_path / "sealed.pdf"
    path.write_bytes(pdf.data)
    return app, client, body, path


def test_binding_order_contents_and_page_numbers_agree(sealed_case):
    _, _, body, path = sealed_case
    titles = [i["title"] for i in body["items"]]
    # The decision and its own 送达回证 first, then the procedure in time order: 受理 (the licence copy of
    # 2 March, then the acceptance notice issued later), then 审查 (the site recording).
    assert titles == ["准予行政许可决定书", "送达回证", "营业执照复印件", "受理通知书", "现场核查录音"]
    ranges = [tuple(i["page_range"]) for i in body["items"]]
    assert ranges[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in zip(ranges, ranges[1:]))
    with pikepdf.open(path) as pdf:
        total = len(pdf.pages)
        outline = [item.title for item in pdf.open_outline().root]
    assert outline[0] == "封面" and outline[1] == "卷内文件目录" and outline[-1] == "备考表"
    assert [re.sub(r"^\d+\. ", "", t).split("（")[0] for t in outline[2:-1]] == titles
    contents = page_text(path, 2)
    for item in body["items"]:
        first, last = item["page_range"]
        assert (str(first) if first == last else f"{first}-{last}") in contents
    # The printed number on each content page is the one the contents promise.
    last_page = ranges[-1][1]
    assert total == last_page + 3       # cover, contents, back note
    for number in (1, 2, last_page):
        text = page_text(path, number + 2)
        assert re.search(rf"(^|\s){number}(\s|$)", text.split("\n", 3)[0] + "\n" + text[:200]), (number, text[:300])
    cover, back = page_text(path, 1).replace(" ", ""), page_text(path, total).replace(" ", "")
    assert f"卷内页数{last_page}页" in cover and "卷内件数5件" in cover and "A012-2026-Y-0007" in cover
    assert "备考表" in back and "全部通过" in back and "王敏" in back
    with pikepdf.open(path) as pdf:   # what a reader shows in its page box
        labels = [page.label for page in pdf.pages]
    assert labels[0] == "封面" and labels[1] == "目录1" and labels[2:-1] == [str(n) for n in range(1, last_page + 1)]
    assert labels[-1] == "备考表"


def test_pdfsig_accepts_the_sealed_file_and_fonts_are_embedded_sc(sealed_case):
    _, _, _, path = sealed_case
    sig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in sig and "Total document signed" in sig, sig
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    ours = [line for line in fonts.splitlines() if "NotoSerifCJK" in line]
    assert ours and all(" yes " in line for line in ours)
    assert "CJKjp" not in fonts
    with pikepdf.open(path) as pdf:
        meta = pdf.open_metadata()
        assert meta.get("pdfaid:part") == "3" and meta.get("pdfaid:conformance") == "B"
        assert len(pdf.Root.AF) == 5 and pdf.Root.OutputIntents[0].S == "/GTS_PDFA1"
        attached = {name: spec for name, spec in pdf.attachments.items()}
        audio = next(spec for name, spec in attached.items() if name.endswith(".wav"))
        assert audio.get_file().read_bytes() == samples.wav(3)
        report = pdfa_conformance(pdf)       # the rules the archive can check without veraPDF
    assert report.claim == "3B" and report.conforms and "embedded_files" in report.rules, report.problems


def test_verify_reports_intact_ours_and_in_ledger(sealed_case):
    _, client, body, path = sealed_case
    with open(path, "rb") as fh:
        resp = client.post("/v1/verify", data={"file": (fh, "copy.pdf")}, content_type="multipart/form-data")
    result = resp.get_json()
    assert resp.status_code == 200, result
    assert result["valid"] and result["intact"] and result["ours"] and not result["modified_after_seal"]
    assert result["ledger"] == {"found": True, "sequence": body["seal"]["ledger_sequence"]}
    assert result["archive_number"] == "A012-2026-Y-0007" and result["case_file_id"] == body["id"]
    assert "封存章" in result["signed_by"] and result["sealed_at"].endswith("+08:00")


def test_a_sealed_file_never_changes(sealed_case, license_documents):
    _, client, body, _ = sealed_case
    resp = client.post(f"/v1/case-files/{body['id']}/items", json={"document_id": license_documents[0]["id"]},
                       headers=ARCHIVIST)
    assert resp.status_code == 409
    assert upload(client, body["id"], "x.pdf", samples.simple_pdf(1), {"title": "补充", "kind": "evidence"}).status_code == 409
    assert client.post(f"/v1/case-files/{body['id']}/seal", headers=ARCHIVIST).status_code == 409
    ledger = client.get("/v1/ledger", headers=ARCHIVIST).get_json()
    assert ledger["intact"] and ledger["entries"][-1]["sha256"] == body["seal"]["sha256"]


def test_package_is_a_valid_bag_with_a_signed_eep(sealed_case, tmp_path, seal_p12):
    _, client, body, path = sealed_case
    resp = client.get(f"/v1/case-files/{body['id']}/package", headers=ARCHIVIST)
    assert resp.status_code == 200
    tar_path = tmp_path / "bag.tar"
    tar_path.write_bytes(resp.data)
    with tarfile.open(tar_path) as tar:
        tar.extractall(tmp_path / "out", filter="data")
    bag = bagit.Bag(str(next((tmp_path / "out").iterdir())))
    bag.validate()          # raises on any wrong checksum or missing file
    assert "sha256" in bag.algorithms
    payload = sorted(bag.payload_files())
    assert f"data/{'A012-2026-Y-0007'}.pdf" in payload
    assert len([p for p in payload if p.startswith("data/originals/")]) == 5
    pdf_in_bag = next(p for p in bag.payload_files() if p.endswith(".pdf") and "originals" not in p)
    assert (bag.path + "/" + pdf_in_bag) and open(bag.path + "/" + pdf_in_bag, "rb").read() == path.read_bytes()
    eep = "data/A012-2026-Y-0007.eep.xml"          # the 卷's; each 件's is under data/eep/ (test_eep_metadata.py)
    assert len([p for p in payload if p.startswith("data/eep/")]) == 5
    from cryptography.hazmat.primitives.serialization import pkcs12
    _, cert, _ = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), None)
    checked = verify_eep(bag.path + "/" + eep, cert)
    assert checked["valid"] and checked["certificate_matches"]
    text = open(bag.path + "/" + eep, encoding="utf-8").read()
    # DA/T 48-2009 appendix A: element order and nesting, fixed values, one file-level record
    import xml.etree.ElementTree as ET
    ns = "{http://www.saac.gov.cn/standards/ERM/encapsulation}"
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == ns + "电子文件封装包"
    assert [c.tag[len(ns):] for c in root] == ["封装包格式描述", "版本", "被签名对象", "电子签名块", "锁定签名"]
    assert root.find(ns + "版本").text == "2009" and root.find(ns + "被签名对象").get("eep版本") == "2009"
    signed = root.find(ns + "被签名对象")
    assert [c.tag[len(ns):] for c in signed] == ["封装包类型", "封装包类型描述", "封装包创建时间", "封装包创建单位", "封装内容"]
    assert signed.find(ns + "封装包类型").text == "原始型"
    entities = signed.findall(f"{ns}封装内容/{ns}文件实体块/{ns}文件实体")
    assert len(entities) == 1 and entities[0].find(ns + "聚合层次").text == "文件"
    number = entities[0].find(ns + "档号")
    assert number.text == "A012-2026-Y-0007" and number.find(ns + "年度").text == "2026"
    assert number.find(ns + "室编件号").text == "7"
    assert entities[0].find(f"{ns}文件数据/{ns}文档/{ns}文档数据/{ns}编码/{ns}编码数据").text
    assert signed.find(f"{ns}封装内容/{ns}业务实体块/{ns}业务实体/{ns}业务状态").text == "历史行为"
    signature = root.find(f"{ns}电子签名块/{ns}电子签名")
    assert signature.find(ns + "签名标识符").text == "修改0-签名1"
    assert root.find(f"{ns}锁定签名/{ns}被锁定签名标识符").text == "修改0-签名1"
    assert checked["signature_valid"] and checked["lock_valid"]
