"""The search service with a real generator over HTTP: a decision published
by `document_id` takes its fields and text from the generator's record, and
the QR code a generated document prints opens our verification page."""
from __future__ import annotations

import io
import zipfile

import httpx
import zxingcpp
from PIL import Image

from services.generator.catalogue import Catalogue
from tests.conftest import auth

CATALOGUE = Catalogue()


def issue(generator_url: str, doc_type: str, **changes) -> dict:
    data = {**CATALOGUE.get(doc_type).example, **changes}
    resp = httpx.post(f"{generator_url}/v1/documents", json={"type": doc_type, "data": data, "formats": ["docx"]},
                      headers=auth("case-system"), timeout=60)
    assert resp.status_code == 201, resp.text
    return resp.json()


def qr_link(generator_url: str, document_id: str) -> str:
    docx = httpx.get(f"{generator_url}/v1/documents/{document_id}/docx", headers=auth("publisher")).content
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        for name in z.namelist():
            if name.startswith("word/media/"):
                for found in zxingcpp.read_barcodes(Image.open(io.BytesIO(z.read(name)))):
                    return found.text
    raise AssertionError("no QR code in the document")


def test_publish_by_document_id_and_verify_its_qr_link(live):
    generator, search = live
    doc = issue(generator.url, "penalty_decision")
    resp = httpx.post(f"{search.url}/v1/decisions", json={"document_id": doc["id"]}, headers=auth("publisher"))
    assert resp.status_code == 201, resp.text
    decision = httpx.get(f"{search.url}/v1/decisions/{doc['number']}").json()
    assert decision["title"] == "行政处罚决定书" and decision["kind"] == "penalty"
    assert decision["party"] == "鞍山示例商贸有限公司" and decision["agency"] == doc["agency"]
    assert "住所变更登记" in decision["text"] and "验证码" not in decision["text"]
    assert "13904120000" not in decision["text"]
    found = httpx.get(f"{search.url}/v1/search", params={"q": "住所变更登记"}).json()
    assert [h["number"] for h in found["hits"]] == [doc["number"]]

    link = qr_link(generator.url, doc["id"])
    assert link.startswith(f"{search.url}/verify?")
    page = httpx.get(link, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "核验通过" in page.text and doc["number"] in page.text
    forged = httpx.get(f"{search.url}/verify", params={"number": doc["number"], "code": "AAAAAAAA"})
    assert "未能核验" in forged.text


def test_a_document_that_is_not_a_decision_is_refused(live):
    generator, search = live
    doc = issue(generator.url, "rectification_order")
    resp = httpx.post(f"{search.url}/v1/decisions", json={"document_id": doc["id"]}, headers=auth("publisher"))
    assert resp.status_code == 422 and resp.json()["errors"][0]["path"] == "document_id"
    missing = httpx.post(f"{search.url}/v1/decisions", json={"document_id": "0" * 36}, headers=auth("publisher"))
    assert missing.status_code == 422 and missing.json()["errors"][0]["path"] == "document_id"
