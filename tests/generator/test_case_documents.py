"""A case's documents by its case number (for the archive's one-click case file), and
the notice of a decision to publish that the generator's outbox delivers to the
search service, retried while the search service is down."""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone

from sqlalchemy import select, update

from services.generator.models import Outbox
from services.generator.publication_notices import NOTIFY_JOB
from shared.db import reading, transaction
from tests.conftest import TOKENS, auth, free_port
from tests.generator.test_api import example, post


def issue(client, doc_type: str, case_number: str | None = None, **changes) -> dict:
    body = {"type": doc_type, "data": example(doc_type, **changes), "formats": ["docx"]}
    if case_number is not None:
        body["case_number"] = case_number
    resp = post(client, body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def case_documents(client, case_number: str, role="archivist", **args):
    return client.get("/v1/documents", query_string={"case_number": case_number, **args}, headers=auth(role))


def test_the_documents_of_a_case_by_its_number_in_issuing_order(generator):
    _, client = generator
    accepted = issue(client, "license_acceptance_notice", " 许可-2026-0031 ")
    granted = issue(client, "license_grant_decision", "许可-2026-0031")
    issue(client, "license_acceptance_notice", "许可-2026-0032")
    # A penalty document belongs to the case its data names, unless the request names another.
    filed = issue(client, "case_filing_form")
    assert accepted["case_number"] == "许可-2026-0031" and filed["case_number"] == "鞍审批案〔2026〕7号"

    answer = case_documents(client, "许可-2026-0031").get_json()
    assert answer["total"] == 2 and [d["id"] for d in answer["documents"]] == [accepted["id"], granted["id"]]
    assert answer["documents"][1]["files"]["docx"]["sha256"] == granted["files"]["docx"]["sha256"]
    second = case_documents(client, "许可-2026-0031", role="case-system", page=2, size=1).get_json()
    assert second["total"] == 2 and [d["id"] for d in second["documents"]] == [granted["id"]]
    assert [d["id"] for d in case_documents(client, "鞍审批案〔2026〕7号").get_json()["documents"]] == [filed["id"]]
    assert case_documents(client, "没有这个案件").get_json() == {
        "case_number": "没有这个案件", "total": 0, "page": 1, "size": 50, "documents": []}


def test_case_number_is_checked_and_the_list_is_for_archivists_and_case_systems(sqlite_generator):
    _, client = sqlite_generator
    for bad in ("", "  ", "x" * 101, 7):
        resp = post(client, {"type": "license_acceptance_notice", "case_number": bad,
                             "data": example("license_acceptance_notice"), "formats": ["docx"]})
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"] == "case_number", resp.get_json()
    assert case_documents(client, "许可-1", role="publisher").status_code == 403
    assert client.get("/v1/documents?case_number=x").status_code == 401
    missing = client.get("/v1/documents", headers=auth("archivist"))
    assert missing.status_code == 422 and missing.get_json()["errors"][0]["path"] == "case_number"
    assert case_documents(client, "x", size=201).status_code == 422
    # The refused requests used no number: the first document issued is number 1.
    assert issue(client, "license_acceptance_notice", "许可-1")["number"].endswith("〔2026〕1号")


def notices(app) -> list:
    with reading(app.extensions["zhifa.runtime"].documents.sessions) as s:
        return s.execute(select(Outbox).where(Outbox.c.task == NOTIFY_JOB)).all()


def test_a_decision_to_publish_reaches_the_search_service_once_it_is_back(zhifa_env, tmp_path):
    """The notice is recorded with the document; while the search service is down it stays pending
    (nothing lost), and once the search service answers it arrives with the generator's due date."""
    from services.generator.app import create_app
    from services.search.app import create_app as create_search
    from tests.search.conftest import LiveServer
    search_port = free_port()
    app = create_app(zhifa_env(ZHIFA_GENERATOR_DATABASE_URL=f"sqlite:///{tmp_path / 'g.sqlite3'}",
                               ZHIFA_SEARCH_URL=f"http://127.0.0.1:{search_port}",
                               ZHIFA_SEARCH_TOKEN=TOKENS["case-system"]))
    client = app.test_client()
    search = None
    try:
        warned = issue(client, "penalty_decision",
                       decision={**example("penalty_decision")["decision"], "penalties": [{"kind": "警告"}]})
        issue(client, "license_acceptance_notice", "许可-9")       # not a decision: nothing to publish
        fined = issue(client, "penalty_decision")
        due = next(d["due_on"] for d in fined["deadlines"] if d["key"] == "publication_decision")
        deadline = time.monotonic() + 30
        while not (rows := notices(app)) or rows[0].attempts < 1 or rows[0].runner is not None:
            assert time.monotonic() < deadline, rows
            time.sleep(0.1)
        (row,) = rows                                   # only the fined decision's notice exists
        assert row.args == [fined["id"]] and row.state == "pending" and row.last_error   # failed, kept
        assert warned["id"] not in json.dumps([r.args for r in rows])

        search = LiveServer(create_search(zhifa_env(
            ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}")), search_port)
        rt = app.extensions["zhifa.runtime"]
        with transaction(rt.documents.sessions) as s:   # its retry falls due (the backoff is seconds)
            s.execute(update(Outbox).where(Outbox.c.id == row.id).values(due_at=datetime.now(timezone.utc)))
        rt.outbox.kick()
        deadline = time.monotonic() + 30
        while notices(app)[0].state != "done":
            assert time.monotonic() < deadline, notices(app)
            time.sleep(0.1)
        listed = search.app.test_client().get("/v1/pending", headers=auth("publisher")).get_json()
        (entry,) = listed["entries"]
        assert entry["document_id"] == fined["id"] and entry["number"] == fined["number"]
        assert entry["due_on"] == due and entry["kind"] == "penalty" and entry["case_number"] == "鞍审批案〔2026〕7号"
        assert entry["decided_on"] == fined["data"]["decision"]["date"]
        # Delivered again (as after a lost answer): the search service keeps it once.
        rt.notices.send(fined["id"])
        assert search.app.test_client().get("/v1/pending", headers=auth("publisher")).get_json()["total"] == 1
    finally:
        if search is not None:
            search.stop()
        app.extensions["zhifa.runtime"].close()


def test_a_batch_entry_keeps_its_case_number(sqlite_generator):
    _, client = sqlite_generator
    entries = [{"type": "license_acceptance_notice", "data": example("license_acceptance_notice"),
                "case_number": "许可-批量-1"},
               {"type": "license_grant_decision", "data": example("license_grant_decision"),
                "case_number": "许可-批量-1"}]
    resp = client.post("/v1/batches", json={"documents": entries, "formats": ["docx"]}, headers=auth())
    assert resp.status_code == 202, resp.get_json()
    status_url = "/v1/batches/" + resp.get_json()["id"]
    deadline = time.monotonic() + 60
    while (batch := client.get(status_url, headers=auth()).get_json())["status"] not in ("done", "partial", "failed"):
        assert time.monotonic() < deadline, batch
        time.sleep(0.1)
    assert batch["status"] == "done", batch
    listed = case_documents(client, "许可-批量-1").get_json()
    assert sorted(d["id"] for d in listed["documents"]) == sorted(d["id"] for d in batch["documents"])
    bad = client.post("/v1/batches", json={"documents": [{**entries[0], "case_number": ""}]}, headers=auth())
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["path"] == "documents/0/case_number"
