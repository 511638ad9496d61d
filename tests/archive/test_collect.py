"""One-click case file: the archive asks the real generator for the documents of the case
(by its case number) and adds them all, each fetched and sha256-checked, in binding
order; collecting again adds nothing twice; a document that cannot join is reported
with its reason and the others are added."""
from __future__ import annotations

import copy
import uuid

from tests.archive.conftest import CATALOGUE, call, open_case
from tests.conftest import TOKENS, auth

ARCHIVIST = auth("archivist")


def issue(generator, doc_type: str, case_number: str, data: dict | None = None) -> dict:
    data = data or copy.deepcopy(CATALOGUE.get(doc_type).example)
    status, body = call(generator.url, "POST", "/v1/documents",
                        {"type": doc_type, "data": data, "case_number": case_number, "formats": ["pdf"]})
    assert status == 201, body
    return body


def receipt(generator, served: dict, case_number: str) -> dict:
    data = copy.deepcopy(CATALOGUE.get("service_receipt").example)
    data["service"].update(document_number=served["number"], document_title=served["title"])
    data["party"] = served["data"]["party"]
    data.pop("case")
    return issue(generator, "service_receipt", case_number, data)


def collect(client, case_id: str, body=None):
    return client.post(f"/v1/case-files/{case_id}/collect", json=body if body is not None else {}, headers=ARCHIVIST)


def test_collect_adds_the_cases_documents_in_binding_order_once(archive, generator):
    _, client = archive
    case_number = f"许可-{uuid.uuid4().hex[:8]}"
    accepted = issue(generator, "license_acceptance_notice", case_number)
    granted = issue(generator, "license_grant_decision", case_number)
    served = receipt(generator, granted, case_number)
    issue(generator, "license_acceptance_notice", f"{case_number}-其他")       # another case: never collected
    case = open_case(client, case_number=case_number, archive_number=f"A012-2026-Y-{uuid.uuid4().hex[:6]}",
                     decision_number=granted["number"])

    resp = collect(client, case["id"])
    assert resp.status_code == 200, resp.get_json()
    report = resp.get_json()
    assert report["found"] == 3 and report["refused"] == [] and report["already_present"] == []
    # Added in binding order: the decision and its receipt, then the acceptance notice.
    assert [a["document_id"] for a in report["added"]] == [granted["id"], served["id"], accepted["id"]]
    items = report["case_file"]["items"]
    assert [i["document_id"] for i in items] == [granted["id"], served["id"], accepted["id"]]
    assert [i["sha256"] for i in items] == [d["files"]["pdf"]["sha256"] for d in (granted, served, accepted)]

    again = collect(client, case["id"]).get_json()
    assert again["added"] == [] and sorted(again["already_present"]) == sorted(
        d["id"] for d in (accepted, granted, served))
    assert len(client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"]) == 3
    audit = client.get("/v1/audit?limit=1000", headers=auth("admin")).get_json()
    assert [e["action"] for e in audit["entries"]].count("case_file.item") == 3


def test_a_document_of_another_party_is_reported_and_the_rest_added(archive, generator):
    _, client = archive
    case_number = f"许可-{uuid.uuid4().hex[:8]}"
    accepted = issue(generator, "license_acceptance_notice", case_number)
    other = copy.deepcopy(CATALOGUE.get("license_acceptance_notice").example)
    other["party"] = {**other["party"], "name": "鞍山另一家有限公司", "credit_code": "91210302MA0000000X"}
    stray = issue(generator, "license_acceptance_notice", case_number, other)   # a mistyped case number
    case = open_case(client, case_number=case_number, archive_number=f"A012-2026-Y-{uuid.uuid4().hex[:6]}",
                     decision_number="鞍审批许准字〔2026〕1号")
    report = collect(client, case["id"]).get_json()
    assert [a["document_id"] for a in report["added"]] == [accepted["id"]]
    (refused,) = report["refused"]
    assert refused["document_id"] == stray["id"] and refused["status"] == 422
    assert "不是同一当事人" in refused["detail"]


def test_collect_needs_a_case_number_and_an_open_file(archive):
    _, client = archive
    case = open_case(client, archive_number=f"A012-2026-Y-{uuid.uuid4().hex[:6]}",    # no case number
                     decision_number="鞍审批许准字〔2026〕1号")
    resp = collect(client, case["id"])
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "case_number"
    resp = collect(client, case["id"], {"case_number": "x", "extra": 1})
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "extra"
    assert client.post(f"/v1/case-files/{case['id']}/collect", json={}, headers=auth("publisher")).status_code == 403
    assert collect(client, "00000000-0000-0000-0000-000000000000").status_code == 404
    # Named in the request instead: nothing issued for it, nothing added.
    report = collect(client, case["id"], {"case_number": "没有文书的案件"}).get_json()
    assert report["found"] == 0 and report["added"] == []


def test_one_click_on_the_archivists_page(archive, generator):
    import re
    _, client = archive
    case_number = f"许可-{uuid.uuid4().hex[:8]}"
    accepted = issue(generator, "license_acceptance_notice", case_number)
    case = open_case(client, case_number=case_number, archive_number=f"A012-2026-Y-{uuid.uuid4().hex[:6]}",
                     decision_number="鞍审批许准字〔2026〕1号")
    login = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    assert client.post("/login", data={"csrf": csrf, "token": TOKENS["archivist"]}).status_code == 302
    page = client.get(f"/case-files/{case['id']}").get_data(as_text=True)
    assert "一键归集本案文书" in page and case_number in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)        # the signed-in session's
    assert client.post(f"/case-files/{case['id']}/collect", data={"case_number": case_number}).status_code == 400
    resp = client.post(f"/case-files/{case['id']}/collect", data={"csrf": csrf, "case_number": case_number},
                       follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "新加入 1 份" in text and accepted["number"] in text
    again = client.post(f"/case-files/{case['id']}/collect", data={"csrf": csrf, "case_number": case_number},
                        follow_redirects=True).get_data(as_text=True)
    assert "新加入 0 份，1 份已在卷内" in again
