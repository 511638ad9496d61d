"""The search service's HTTP contract, on SQLite and on the real PostgreSQL:
publish, replace, refuse, withdraw, search, read; what a citizen sees never
holds what the redaction rules hide."""
from __future__ import annotations

from urllib.parse import unquote

import pytest

from tests.conftest import auth
from tests.search.conftest import LICENSE, PENALTY, PERSON_PENALTY, TODAY, decision, publish


def assert_problem(resp, status: int, path: str | None = None) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.content_type.startswith("application/problem+json")
    body = resp.get_json()
    assert body["status"] == status and body["title"]
    if path is not None:
        assert path in [e["path"] for e in body.get("errors", [])], body
    return body


def search(client, **args):
    resp = client.get("/v1/search", query_string=args)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def test_publish_search_read_withdraw(search_app):
    _, client = search_app
    resp = publish(client, PENALTY)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "published" and unquote(body["public_url"]).endswith("/decisions/鞍审批罚决字〔2026〕第1号")
    assert publish(client, LICENSE).status_code == 201

    found = search(client, q="住所变更")
    assert found["total"] == 1 and found["hits"][0]["number"] == PENALTY["number"]
    assert "<mark>住所变更</mark>" in found["hits"][0]["snippet"]
    assert found["facets"]["kind"] == {"penalty": 1}

    one = client.get(f"/v1/decisions/{PENALTY['number']}")
    assert one.status_code == 200 and one.get_json()["disclosure"]["罚款金额（万元）"] == "2"

    gone = client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "经复议撤销"}, headers=auth("publisher"))
    assert gone.status_code == 200 and gone.get_json()["status"] == "withdrawn"
    assert search(client, q="住所变更")["total"] == 0
    assert_problem(client.get(f"/v1/decisions/{PENALTY['number']}"), 410)
    log = client.get("/v1/audit", headers=auth("admin")).get_json()
    assert log["intact"] and [e["action"] for e in log["entries"]] == ["publish", "publish", "withdraw"]
    assert log["entries"][2]["details"] == {"reason": "经复议撤销"}


def test_same_number_replaces(sqlite_search):
    _, client = sqlite_search
    assert publish(client, PENALTY).status_code == 201
    again = publish(client, decision(PENALTY, content="罚款人民币叁万元整。", penalties=[{"kind": "罚款", "amount_yuan": 30000}]))
    assert again.status_code == 200
    assert search(client, q="叁万元")["total"] == 1
    assert search(client, q="贰万元")["total"] == 0
    assert search(client)["total"] == 1


@pytest.mark.parametrize("changes, path", [
    ({"penalties": [{"kind": "警告"}]}, "penalties"),
    ({"party": {**PERSON_PENALTY["party"], "minor": True}}, "party"),
    ({"party": {**PERSON_PENALTY["party"], "id_number": "210302201201011230"}}, "party"),  # born 2012
    ({"party": {**PERSON_PENALTY["party"], "id_number": "210302 20120101 1230"}}, "party"),
    ({"party": {**PERSON_PENALTY["party"], "id_number": "２１０３０２－２０１２０１０１－１２３０"}}, "party"),
    ({"party": {**PERSON_PENALTY["party"], "id_number": "2103022012\n01011230"}}, "party"),
    ({"summary": "当事人张伟（16周岁）无证销售散装白酒。"}, "summary"),
    ({"text": "当事人：张伟，男，现年十六岁，住鞍山市。"}, "text"),
    ({"summary": "当事人张伟，公民身份号码210302 2012 0101 1230，无证销售散装白酒。"}, "summary"),
    ({"confidentiality": "trade_secret"}, "confidentiality"),
    ({"text": "机密★1年\n当事人……"}, "text"),
])
def test_what_must_not_be_published_is_refused_saying_why(sqlite_search, changes, path):
    _, client = sqlite_search
    body = assert_problem(publish(client, decision(PERSON_PENALTY, **changes)), 422, path)
    assert body["type"].endswith("/not-publishable") and "不予公示" in body["title"]
    assert search(client)["total"] == 0


def test_warning_with_a_fine_is_published(sqlite_search):
    _, client = sqlite_search
    resp = publish(client, decision(PENALTY, penalties=[{"kind": "警告"}, {"kind": "罚款", "amount_yuan": 500}]))
    assert resp.status_code == 201


@pytest.mark.parametrize("changes, path", [
    ({"number": ""}, "number"),
    ({"kind": "reward"}, "kind"),
    ({"decided_on": "2026-02-30"}, "decided_on"),
    ({"party": {"kind": "organization"}}, "party/name"),
    ({"publish_until": TODAY.isoformat()}, "publish_until"),        # under 3 months for a penalty
    ({"publish_until": "2099-01-01"}, "publish_until"),              # over 3 years
    ({"title": "行政\u202e处罚"}, "title"),
    ({"surprise": 1}, ""),
])
def test_bad_input_names_the_field(sqlite_search, changes, path):
    _, client = sqlite_search
    assert_problem(publish(client, decision(PENALTY, **changes)), 422, path or None)
    assert search(client)["total"] == 0


def test_publishing_needs_the_publisher_role(sqlite_search):
    _, client = sqlite_search
    assert_problem(client.post("/v1/decisions", json=PENALTY), 401)
    assert_problem(publish(client, PENALTY, role="case-system"), 403)
    assert_problem(client.delete(f"/v1/decisions/{PENALTY['number']}", json={"reason": "x"}), 401)


def test_withdrawal_needs_a_reason(sqlite_search):
    _, client = sqlite_search
    publish(client, PENALTY)
    assert_problem(client.delete(f"/v1/decisions/{PENALTY['number']}", json={}, headers=auth("publisher")), 422, "reason")
    assert_problem(client.delete("/v1/decisions/无此文号", json={"reason": "x"}, headers=auth("publisher")), 404)


def test_hidden_values_are_nowhere_a_citizen_looks(search_app):
    _, client = search_app
    assert publish(client, PERSON_PENALTY).status_code == 201
    secrets = ["210302198001011233", "13904120000", "胜利路12号", "6222021234567890128", "zhangwei@example.com",
               "辽C12345", "刘洋"]
    number = PERSON_PENALTY["number"]
    seen = [client.get(f"/v1/decisions/{number}").get_data(as_text=True),
            client.get(f"/decisions/{number}").get_data(as_text=True),
            client.get("/v1/search", query_string={"q": "白酒"}).get_data(as_text=True),
            client.get("/", query_string={"q": "白酒"}).get_data(as_text=True),
            client.get("/v1/export", query_string={"kind": "penalty", "format": "csv"}).get_data(as_text=True),
            client.get("/v1/export").get_data(as_text=True)]
    for page in seen:
        assert "白酒" in page
        for secret in secrets:
            assert secret not in page
    for secret in secrets:
        assert search(client, q=secret)["total"] == 0, secret
    assert search(client, q="张伟")["total"] == 1          # the party stays visible
    assert search(client, q="刘某")["total"] == 1


def test_preview_marks_each_hidden_span_with_its_rule(sqlite_search):
    _, client = sqlite_search
    resp = client.post("/v1/decisions/preview", json=PERSON_PENALTY, headers=auth("publisher"))
    body = resp.get_json()
    assert resp.status_code == 200 and body["publishable"]
    summary = body["fields"]["summary"]
    rules = {s["rule"] for s in summary["spans"]}
    assert {"id_number", "address", "mobile", "plate", "bank_card", "email", "person_name"} <= rules
    original = PERSON_PENALTY["summary"]
    by_rule = {s["rule"]: original[s["start"]:s["end"]] for s in summary["spans"]}
    assert by_rule["id_number"] == "210302198001011233" and by_rule["person_name"] == "刘洋"
    assert '<mark class="redacted" data-rule="id_number"' in summary["marked"]
    assert "210302198001011233" not in summary["text"] and "刘某" in summary["text"]
    assert search(client)["total"] == 0                   # a preview publishes nothing
    refused = client.post("/v1/decisions/preview", json=decision(PENALTY, penalties=[{"kind": "警告"}]),
                          headers=auth("publisher")).get_json()
    assert refused["publishable"] is False and refused["problem"]["errors"][0]["path"] == "penalties"


def test_search_filters_sorts_and_pages(sqlite_search):
    _, client = sqlite_search
    for i in range(1, 8):
        publish(client, decision(PENALTY, number=f"鞍审批罚决字〔2025〕第{i}号", decided_on=f"2025-0{i}-10",
                                 publish_until=f"2027-0{i}-10"))
    publish(client, LICENSE)
    assert search(client, q="罚")["total"] == 7                       # one character
    assert search(client, q="许可")["total"] == 1                     # two characters
    assert search(client, kind="license")["total"] == 1
    assert search(client, agency="鞍山市行政审批局")["total"] == 1
    ranged = search(client, **{"from": "2025-02-01", "to": "2025-04-30"})
    assert sorted(h["decided_on"] for h in ranged["hits"]) == ["2025-02-10", "2025-03-10", "2025-04-10"]
    by_date = search(client, sort="date", size=3)
    assert [h["decided_on"] for h in by_date["hits"]] == sorted([h["decided_on"] for h in by_date["hits"]], reverse=True)
    pages = [search(client, q="罚", sort="date", size=3, page=p)["hits"] for p in (1, 2, 3)]
    numbers = [h["number"] for page in pages for h in page]
    assert len(numbers) == 7 == len(set(numbers))
    cursor = search(client, q="罚", sort="date", size=3)
    followed = search(client, q="罚", sort="date", size=3, after=cursor["next"])
    assert [h["number"] for h in followed["hits"]] == [h["number"] for h in pages[1]]
    assert search(client, q='"住所变更" -许可')["total"] == 7
    assert search(client, q="-罚")["total"] == 1
    assert search(client)["facets"]["year"] == {"2025": 7, LICENSE["decided_on"][:4]: 1}


@pytest.mark.parametrize("args, path", [
    ({"kind": "x"}, "kind"), ({"from": "2026-13-01"}, "from"), ({"sort": "random"}, "sort"),
    ({"page": "0"}, "page"), ({"size": "500"}, "size"), ({"page": "200", "size": "50"}, "page"),
    ({"q": "罚 " * 20}, "q"), ({"after": "!!"}, "after"), ({"from": "2026-05-01", "to": "2026-01-01"}, "from"),
])
def test_bad_search_arguments_are_named(sqlite_search, args, path):
    _, client = sqlite_search
    assert_problem(client.get("/v1/search", query_string=args), 422, path)


def test_expired_decisions_are_hidden_and_swept(sqlite_search):
    app, client = sqlite_search
    rt = app.extensions["zhifa.runtime"]
    publish(client, PENALTY)
    later = TODAY.replace(year=TODAY.year + 4)
    rt.decisions.today = lambda: later
    assert search(client)["total"] == 0                              # hidden before the sweep runs
    gone = client.get(f"/v1/decisions/{PENALTY['number']}")
    assert_problem(gone, 410)
    assert gone.get_json()["title"] == "该决定公示期已届满" and "届满" in gone.get_json()["detail"]   # not "withdrawn"
    assert rt.decisions.sweep_expired() == [PENALTY["number"]]
    assert rt.index.count() == 0
    log = client.get("/v1/audit", headers=auth("admin")).get_json()
    assert log["entries"][-1]["action"] == "expire" and log["intact"]
    assert rt.sweeper.claim_today() is True and rt.sweeper.claim_today() is False


def test_export_gives_the_double_publicity_fields(sqlite_search):
    _, client = sqlite_search
    publish(client, PENALTY)
    publish(client, LICENSE)
    csv_text = client.get("/v1/export", query_string={"kind": "license", "format": "csv"}).get_data(as_text=True)
    header = csv_text.lstrip("\ufeff").splitlines()[0].split(",")
    assert header[:4] == ["相对人名称", "相对人类别", "统一社会信用代码", "法定代表人"]
    assert "许可编号" in header and "JY22103020012345" in csv_text
    penalty = client.get("/v1/export", query_string={"kind": "penalty"}).get_json()
    fields = penalty[0]["fields"]
    assert fields["决定书文号"] == PENALTY["number"] and fields["处罚类别"] == "罚款"
    assert fields["公示截止期"] and fields["违法行为类型"] == "未依法办理变更登记"
    assert_problem(client.get("/v1/export", query_string={"format": "csv"}), 422, "kind")


def test_stats_count_by_month_and_kind(sqlite_search):
    _, client = sqlite_search
    publish(client, PENALTY)
    publish(client, LICENSE)
    year = int(PENALTY["decided_on"][:4])
    stats = client.get("/v1/stats", query_string={"year": year}).get_json()
    assert stats["total"] == 2 and stats["by_kind"]["penalty"] == 1 and stats["fines_wan"] == 2
    month = int(PENALTY["decided_on"][5:7])
    assert stats["monthly"]["license"][str(month)] == 1
    csv_text = client.get("/v1/stats", query_string={"year": year, "format": "csv"}).get_data(as_text=True)
    assert "全年合计,1,1,0,2" in csv_text


def test_reindex_command_rebuilds_the_index_from_the_database(sqlite_search, capsys):
    from services.cli import main
    app, client = sqlite_search
    publish(client, PENALTY)
    publish(client, LICENSE)
    app.extensions["zhifa.runtime"].index.rebuild(iter([]))          # an index lost or stale
    assert search(client)["total"] == 0
    assert main(["search", "reindex"]) == 0
    assert "2 decision(s) indexed" in capsys.readouterr().out
    assert search(client, q="许可")["total"] == 1 and search(client)["total"] == 2


def test_counts_are_exact_and_say_so(sqlite_search):
    """The embedded index counts every match: no estimate, no 约 on the page."""
    _, client = sqlite_search
    for i in range(1, 9):
        publish(client, decision(PENALTY, number=f"鞍审批罚决字〔2025〕第{i}号", decided_on=f"2025-0{i}-10",
                                 publish_until=f"2027-0{i}-10"))
    plain = search(client, q="罚", kind="penalty")
    page = client.get("/", query_string={"q": "罚", "kind": "penalty"}).get_data(as_text=True)
    assert plain["total"] == 8 and not plain["total_approximate"] and not plain["facets_approximate"]
    assert plain["facets"]["year"] == {"2025": 8} and plain["ranked_within"] is None
    assert "共找到 8 件决定" in page and "约数" not in page
