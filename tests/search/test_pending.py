"""Pending publications in the search service: the generator's notices of decisions
to publish (idempotent by document id), the publishers' list of pending and
overdue ones (API and a signed-in page), the reason recorded when one is not
published, and the entry resolved by publishing a decision with its document id."""
from __future__ import annotations

import json
import re
from datetime import timedelta

from tests.conftest import TOKENS, auth
from tests.search.conftest import PENALTY, TODAY, decision, publish
from tests.search.test_api import assert_problem

DUE_PAST = (TODAY - timedelta(days=3)).isoformat()
DUE_AHEAD = (TODAY + timedelta(days=5)).isoformat()
BASIS = "国办发〔2018〕118号：行政许可、行政处罚的执法决定信息要在执法决定作出之日起7个工作日内公开。"


def notice(document_id: str, number: str, due_on: str, **changes) -> dict:
    body = {"document_id": document_id, "number": number, "type": "penalty_decision", "title": "行政处罚决定书",
            "kind": "penalty", "agency": "鞍山市营商环境建设局", "party": "鞍山示例商贸有限公司",
            "case_number": "鞍审批案〔2026〕7号", "decided_on": (TODAY - timedelta(days=12)).isoformat(),
            "due_on": due_on, "basis": BASIS}
    body.update(changes)
    return body


def post_notice(client, body, role="case-system"):
    return client.post("/v1/pending", data=json.dumps(body, ensure_ascii=False),
                       headers={**auth(role), "Content-Type": "application/json"})


def listed(client, status="pending") -> dict:
    resp = client.get("/v1/pending", query_string={"status": status}, headers=auth("publisher"))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_a_notice_is_kept_once_and_publishers_see_pending_and_overdue_by_due_date(search_app):
    _, client = search_app
    late = notice("11111111-1111-1111-1111-111111111111", "鞍审批罚决字〔2026〕5号", DUE_PAST)
    soon = notice("22222222-2222-2222-2222-222222222222", "鞍审批罚决字〔2026〕6号", DUE_AHEAD)
    assert post_notice(client, soon).status_code == 201
    first = post_notice(client, late)
    assert first.status_code == 201 and first.get_json()["status"] == "overdue"
    # Delivered again (the generator's answer was lost): kept once, unchanged.
    again = post_notice(client, {**late, "due_on": DUE_AHEAD})
    assert again.status_code == 200 and again.get_json()["due_on"] == DUE_PAST

    pending = listed(client)
    assert pending["total"] == 2
    assert [e["number"] for e in pending["entries"]] == [late["number"], soon["number"]]      # by due date
    assert [e["overdue"] for e in pending["entries"]] == [True, False]
    assert pending["entries"][0]["days_past_due"] == 3 and pending["entries"][0]["basis"] == BASIS
    overdue = listed(client, "overdue")
    assert overdue["total"] == 1 and overdue["entries"][0]["document_id"] == late["document_id"]


def test_who_may_notify_and_who_may_read_the_list(sqlite_search):
    _, client = sqlite_search
    body = notice("33333333-3333-3333-3333-333333333333", "鞍审批罚决字〔2026〕7号", DUE_AHEAD)
    assert_problem(post_notice(client, body, role="publisher"), 403)
    assert_problem(client.post("/v1/pending", json=body), 401)
    assert_problem(client.get("/v1/pending", headers=auth("case-system")), 403)
    assert_problem(client.get("/v1/pending"), 401)
    assert listed(client)["total"] == 0


def test_a_bad_notice_is_refused_naming_the_field(sqlite_search):
    _, client = sqlite_search
    good = notice("44444444-4444-4444-4444-444444444444", "鞍审批罚决字〔2026〕8号", DUE_AHEAD)
    assert_problem(post_notice(client, {k: v for k, v in good.items() if k != "due_on"}), 422, "due_on")
    assert_problem(post_notice(client, {**good, "kind": "warning"}), 422, "kind")
    assert_problem(post_notice(client, {**good, "due_on": "2026-02-30"}), 422, "due_on")
    assert_problem(post_notice(client, {**good, "due_on": (TODAY - timedelta(days=30)).isoformat()}), 422, "due_on")
    assert_problem(post_notice(client, {**good, "extra": 1}), 422)
    assert_problem(client.get("/v1/pending?status=late", headers=auth("publisher")), 422, "status")
    assert listed(client)["total"] == 0


def test_not_published_with_a_reason_recorded_and_audited(sqlite_search):
    _, client = sqlite_search
    body = notice("55555555-5555-5555-5555-555555555555", "鞍审批罚决字〔2026〕9号", DUE_PAST)
    assert post_notice(client, body).status_code == 201
    url = f"/v1/pending/{body['document_id']}/withhold"
    assert_problem(client.post(url, json={"reason": "  "}, headers=auth("publisher")), 422, "reason")
    assert_problem(client.post(url, json={"reason": "未成年人"}, headers=auth("case-system")), 403)
    resp = client.post(url, json={"reason": "当事人为未成年人，依法不予公示"}, headers=auth("publisher"))
    assert resp.status_code == 200 and resp.get_json()["status"] == "withheld"
    assert listed(client)["total"] == 0 and listed(client, "overdue")["total"] == 0
    withheld = listed(client, "withheld")["entries"]
    assert [e["withheld_reason"] for e in withheld] == ["当事人为未成年人，依法不予公示"]
    assert_problem(client.post(f"/v1/pending/{body['document_id']}/publish", headers=auth("publisher")), 409)
    assert_problem(client.post("/v1/pending/66666666-0000-0000-0000-000000000000/withhold",
                               json={"reason": "x"}, headers=auth("publisher")), 404)
    audit = client.get("/v1/audit", headers=auth("admin")).get_json()
    assert audit["intact"]
    assert [e["action"] for e in audit["entries"]] == ["pending.add", "pending.withhold"]


def test_publishing_a_decision_with_its_document_id_resolves_the_entry(search_app):
    """However it is published (from the list, or by POST /v1/decisions with the document id),
    the entry leaves the pending list and names the published decision."""
    app, client = search_app
    document_id = "77777777-7777-7777-7777-777777777777"
    assert post_notice(client, notice(document_id, PENALTY["number"], DUE_PAST)).status_code == 201
    rt = app.extensions["zhifa.runtime"]
    prepared = rt.decisions.prepare(decision(PENALTY))
    prepared.values["document_id"] = document_id     # as the generator's record would give it
    rt.decisions.publish(prepared, "publisher:test")
    assert listed(client)["total"] == 0 and listed(client, "overdue")["total"] == 0
    (entry,) = listed(client, "published")["entries"]
    assert entry["status"] == "published" and entry["published_number"] == PENALTY["number"]
    assert_problem(client.post(f"/v1/pending/{document_id}/withhold", json={"reason": "误登"},
                               headers=auth("publisher")), 409)


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_publishers_page_lists_overdue_and_records_a_reason(sqlite_search):
    _, client = sqlite_search
    body = notice("88888888-8888-8888-8888-888888888888", "鞍审批罚决字〔2026〕10号", DUE_PAST)
    assert post_notice(client, body).status_code == 201
    assert client.get("/publisher/").status_code == 302                       # sign in first
    login = client.get("/publisher/login").get_data(as_text=True)
    refused = client.post("/publisher/login", data={"csrf": _csrf(login), "token": TOKENS["archivist"]})
    assert refused.status_code == 401 and "不是公示员的令牌" in refused.get_data(as_text=True)
    resp = client.post("/publisher/login", data={"csrf": _csrf(login), "token": TOKENS["publisher"]})
    assert resp.status_code == 302
    page = client.get("/publisher/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert body["number"] in text and "已逾期 3 天" in text and "已逾期 1 件" in text
    # A form without its CSRF token changes nothing.
    url = f"/publisher/{body['document_id']}/withhold"
    assert client.post(url, data={"reason": "涉及国家秘密"}).status_code == 400
    assert listed(client)["total"] == 1
    resp = client.post(url, data={"csrf": _csrf(text), "reason": "涉及国家秘密"}, follow_redirects=True)
    assert "已登记不予公示" in resp.get_data(as_text=True)
    assert listed(client, "withheld")["entries"][0]["withheld_reason"] == "涉及国家秘密"
    client.post("/publisher/logout", data={"csrf": _csrf(resp.get_data(as_text=True))})
    assert client.get("/publisher/").status_code == 302
