"""The scan of a signed and stamped original is attached to its generated
document by the document's number (in any printed form) or id; it is bound
as the record, in the document's place, with the generator's PDF as its
rendition (an associated file, /AFRelationship /Alternative); the integrity
check lists every generated document still without its signed original.
(Carried over from h-archive-records onto main's `signed_original_of`.)"""
from __future__ import annotations

import hashlib
import subprocess

import pikepdf
import pytest

from tests.archive import samples
from tests.archive.conftest import download_sealed, open_case, upload
from tests.conftest import auth

ARCHIVIST = auth("archivist")
REASON = {"override_reason": "测试：未配置恶意代码扫描"}


def variant(number: str) -> str:
    """The same number as a clerk might type it: ASCII brackets, spaces."""
    return number.replace("〔", " [").replace("〕", "] ").replace("号", " 号")


@pytest.fixture
def case_with_documents(archive, license_documents):
    app, client = archive
    accepted, granted, receipt = license_documents
    case = open_case(client, archive_number="A012-2026-Y-0201", decision_number=granted["number"])
    for doc in (accepted, granted, receipt):
        resp = client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]}, headers=ARCHIVIST)
        assert resp.status_code == 201, resp.get_json()
    return client, case, license_documents


def signed_scan(client, case_id, doc, original_of, **meta):
    return upload(client, case_id, "signed.jpg", samples.scan_jpeg(text=f"SIGNED {doc['number']}"),
                  {"title": f"{doc['title']}（签章原件）", "kind": "document", "signed_original_of": original_of, **meta},
                  "image/jpeg")


def test_the_check_lists_each_document_without_its_signed_original_until_all_are_there(case_with_documents, tmp_path):
    client, case, (accepted, granted, receipt) = case_with_documents

    def listing():
        result = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
        return next(c for c in result["checks"] if c["id"] == "signed_originals")

    first = listing()
    assert first["property"] == "integrity" and all(d["number"] in first["detail"] for d in (accepted, granted, receipt))

    resp = signed_scan(client, case["id"], granted, variant(granted["number"]))       # another printed form
    assert resp.status_code == 201, resp.get_json()
    item = resp.get_json()
    assert item["number"] == granted["number"] and item["author"] and item["date"] == granted["issued_on"]
    later = listing()
    assert granted["number"] not in later["detail"] and accepted["number"] in later["detail"]

    assert signed_scan(client, case["id"], accepted, accepted["id"]).status_code == 201      # by the generator's id
    full_width = receipt["number"].translate(str.maketrans("0123456789〔〕", "０１２３４５６７８９［］"))
    assert signed_scan(client, case["id"], receipt, full_width).status_code == 201
    done = listing()
    assert done["passed"] and not any(d["number"] in done["detail"] for d in (accepted, granted, receipt))
    body = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
    assert body["unsigned_documents"] == []

    # Sealed: the signed scans are the bound pages, in the documents' places; each generated PDF rides along.
    assert client.post(f"/v1/case-files/{case['id']}/seal", json=REASON, headers=ARCHIVIST).status_code == 202
    body, path = download_sealed(client, case["id"], tmp_path)
    assert [i["title"] for i in body["items"]] == [f"{d['title']}（签章原件）" for d in (granted, receipt, accepted)]
    assert all(i["signed_original_of"] for i in body["items"])
    with pikepdf.open(path) as pdf:
        assert len(pdf.pages) == 2 + 3 + 1      # one scanned page per document: the generated pages are not bound
        for page in pdf.pages[2:5]:              # each content page is the scan (an image), not the rendition's text
            xobjects = page.obj.Resources.get("/XObject", {})
            assert any(x.get("/Subtype") == "/Image" and x.get("/Filter") == "/DCTDecode" for x in xobjects.values())
        relations = {}
        for spec in pdf.Root.AF:
            relations.setdefault(str(spec.AFRelationship), []).append(hashlib.sha256(spec.EF.F.read_bytes()).hexdigest())
    assert set(relations["/Alternative"]) == {d["files"]["pdf"]["sha256"] for d in (accepted, granted, receipt)}
    assert set(relations["/Source"]) == {i["sha256"] for i in body["items"]}
    cover = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                           text=True, check=True).stdout.replace(" ", "").replace("\n", "")
    assert "卷内件数3件" in cover
    back = subprocess.run(["pdftotext", "-f", "6", "-l", "6", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout.replace(" ", "")
    assert "尚未附签章原件" not in back


@pytest.mark.parametrize("meta, path", [
    ({"signed_original_of": "鞍审批许〔2099〕999号"}, "meta/signed_original_of"),    # no such document in this file
    ({"signed_original_of": "   "}, "meta/signed_original_of"),
    ({"signed_original_of": "GRANTED", "kind": "evidence"}, "meta/kind"),
    ({"signed_original_of": "GRANTED", "number": "鞍审批许〔2026〕1号"}, "meta/number"),   # contradicts the document's
])
def test_an_original_that_names_no_document_is_refused_naming_the_field(case_with_documents, meta, path):
    client, case, (_, granted, _) = case_with_documents
    meta = {**meta, "signed_original_of": granted["number"] if meta["signed_original_of"] == "GRANTED"
            else meta["signed_original_of"]}
    resp = upload(client, case["id"], "signed.jpg", samples.scan_jpeg(),
                  {"title": "签章原件", "kind": "document", **meta}, "image/jpeg")
    assert resp.status_code == 422, resp.get_json()
    assert path in [e["path"] for e in resp.get_json()["errors"]]
    body = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
    assert all(not i["signed_original_of"] for i in body["items"]) and len(body["unsigned_documents"]) == 3


def test_audio_cannot_be_a_signed_original_and_a_second_one_is_refused(case_with_documents):
    client, case, (_, granted, _) = case_with_documents
    resp = upload(client, case["id"], "a.wav", samples.wav(1), {"title": "录音", "kind": "document",
                                                               "signed_original_of": granted["number"]}, "audio/wav")
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "file"
    assert signed_scan(client, case["id"], granted, granted["number"]).status_code == 201
    again = signed_scan(client, case["id"], granted, granted["id"])
    assert again.status_code == 422 and again.get_json()["errors"][0]["path"] == "meta/signed_original_of"
