"""Dates relative to today: no document from the future, no number in a closed year, and documents
registered after the fact are marked as such (printed and in the registry)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from services.generator.models import Document
from shared.dates import today_in_china
from tests.generator.test_api import assert_problem, docx_text, example, post

TODAY = today_in_china()


def iso(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


@pytest.mark.parametrize("doc_type, field, change", [
    ("rectification_order", "data/issued_on", lambda d: d.update(issued_on=iso(1))),
    ("penalty_decision", "data/decision/date", lambda d: d["decision"].update(date=iso(3))),
    ("penalty_decision", "data/case/filed_on", lambda d: (d.update(issued_on=iso(0)), d["decision"].update(date=iso(0)),
                                                          d["case"].update(filed_on=iso(400)))),
    ("inquiry_record", "data/inquiry/date", lambda d: d["inquiry"].update(date=iso(366))),
])
def test_a_date_in_the_future_is_refused(sqlite_generator, doc_type, field, change):
    _, client = sqlite_generator
    data = example(doc_type)
    change(data)
    body = assert_problem(post(client, {"type": doc_type, "data": data, "formats": ["docx"]}), 422, field)
    assert body["type"].endswith("date-in-future")


def test_a_hearing_set_ahead_is_not_a_date_in_the_future(sqlite_generator):
    _, client = sqlite_generator
    data = example("hearing_notice", issued_on=iso(0))
    data["hearing"].update(date=iso(30), requested_on=iso(0))
    resp = post(client, {"type": "hearing_notice", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_json()
    assert "registered-after-the-fact" not in [w["code"] for w in resp.get_json()["warnings"]]
    assert "补登记" not in docx_text(client, resp.get_json()["id"])


def test_a_document_of_a_closed_year_takes_a_number_of_this_year_and_is_marked(sqlite_generator):
    _, client = sqlite_generator
    data = example("rectification_order", issued_on=f"{TODAY.year - 2}-04-01")
    data["rectification"]["deadline"] = f"{TODAY.year - 2}-04-20"
    resp = post(client, {"type": "rectification_order", "data": data, "formats": ["docx"]})
    assert resp.status_code == 201, resp.get_json()
    doc = resp.get_json()
    assert f"〔{TODAY.year}〕" in doc["number"] and f"〔{TODAY.year - 2}〕" not in doc["number"]
    warning = next(w for w in doc["warnings"] if w["code"] == "registered-after-the-fact")
    assert f"{TODAY.year - 2}年4月1日" in warning["message"] and "补登记" in warning["message"]
    text = docx_text(client, doc["id"])
    assert f"{doc['number']}（补登记）" in text
    verified = client.get("/v1/verify", query_string={"number": doc["number"], "code": doc["verification_code"]})
    assert verified.get_json()["authentic"] is True
    assert verified.get_json()["registered_after_the_fact"] is True


def test_verify_never_calls_a_number_in_a_year_before_its_registration_authentic(sqlite_generator):
    app, client = sqlite_generator
    doc = post(client, {"type": "rectification_order", "data": example("rectification_order"),
                        "formats": ["docx"]}).get_json()
    closed = doc["number"].replace(f"〔{TODAY.year}〕", f"〔{TODAY.year - 2}〕")
    sessions = app.extensions["zhifa.runtime"].documents.sessions
    with sessions.begin() as session:   # a row as the old code wrote it: a number reopening a closed year
        session.execute(update(Document).where(Document.id == doc["id"]).values(number=closed, year=TODAY.year - 2))
    answer = client.get("/v1/verify", query_string={"number": closed, "code": doc["verification_code"]}).get_json()
    assert answer["authentic"] is False
