"""The pages schemathesis cannot see (they are not in /openapi.json): the
search service's public pages with any query string, and the archivists'
forms posted with anything, by a signed-in archivist. Whatever is sent, the
answer is a page (or a redirect back to one), never a 5xx; hypothesis draws
the values, derandomised and bounded.
"""
from __future__ import annotations

import re
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TOKENS, free_port

# Text as a browser or a script could send it: any code point (lone surrogates cannot be URL-encoded
# as UTF-8, so they are left out), plus the values that reach parsers: digits, dates, huge numbers.
TEXT = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
                 st.from_regex(r"\A-?[0-9]{1,30}\Z"), st.dates().map(str),
                 st.sampled_from(["", " ", "0", "-1", "2026-02-30", "9" * 5000, "１２", "²", "null", "[]",
                                  "<script>alert(1)</script>", "../../etc/passwd", "%00", "鞍审批罚决字〔2026〕第1号"]))
FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

SEARCH_ARGS = ["q", "kind", "agency", "from", "to", "sort", "page", "size", "after", "year", "number", "code"]


def test_the_public_search_pages_answer_any_query_string(zhifa_env, tmp_path):
    from services.search.app import create_app
    from tests.search.conftest import LICENSE, PENALTY
    from tests.conftest import auth
    app = create_app(zhifa_env(ZHIFA_SEARCH_DATABASE_URL=f"sqlite:///{tmp_path / 's.sqlite3'}",
                               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_SEARCH_RATE_LIMIT="1000000 per minute"))
    client = app.test_client()
    try:
        for body in (PENALTY, LICENSE):
            assert client.post("/v1/decisions", json=body, headers=auth("publisher")).status_code == 201
        app.extensions["zhifa.runtime"].index.refresh()

        @given(page=st.sampled_from(["/", "/stats", "/stats.csv", "/verify", "/decisions/x"]),
               args=st.dictionaries(st.sampled_from(SEARCH_ARGS), TEXT, max_size=5),
               number=TEXT)
        @FUZZ
        def check(page, args, number):
            path = page if page != "/decisions/x" else "/decisions/" + (number.replace("/", "") or "x")
            resp = client.get(path + "?" + urlencode(args), headers={"Accept": "text/html"})
            assert resp.status_code < 500, (path, args, resp.status_code)
            if resp.mimetype == "text/html":
                assert re.search("[\u4e00-\u9fff]", resp.get_data(as_text=True)), (path, args)
        check()
    finally:
        app.extensions["zhifa.runtime"].close()


CASE_FORM = ["archive_number", "fonds", "fonds_name", "title", "case_type", "case_number", "decision_number",
             "handling_unit", "filing_unit", "opened_on", "closed_on", "retention", "secrecy", "compiled_by",
             "checked_by", "party", "party_kind", "party_credit_code", "party_id_type", "party_id_number"]


def test_the_archivists_forms_take_anything_without_a_server_error(zhifa_env, tmp_path):
    from services.archive.app import create_app
    from tests.archive.conftest import LICENSE_CASE
    app = create_app(zhifa_env(ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}",
                               ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}",
                               ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"]))
    client = app.test_client()
    try:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"csrf": csrf, "token": TOKENS["archivist"]}).status_code == 302
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/case-files").get_data(as_text=True)).group(1)
        valid = {k: v for k, v in LICENSE_CASE.items() if isinstance(v, str)}
        valid.update(decision_number="鞍审批许准字〔2026〕第1号", party=LICENSE_CASE["party"]["name"],
                     party_kind="organization", party_credit_code=LICENSE_CASE["party"]["credit_code"])
        resp = client.post("/case-files", data={**valid, "csrf": csrf})
        assert resp.status_code == 302 and "/case-files/" in resp.headers["Location"], resp.status_code
        case_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

        @given(form=st.sampled_from(["/case-files", f"/case-files/{case_id}/people",
                                     f"/case-files/{case_id}/documents", f"/case-files/{case_id}/seal"]),
               changes=st.dictionaries(st.sampled_from(CASE_FORM + ["document_id", "override_reason"]), TEXT,
                                       max_size=6))
        @FUZZ
        def check(form, changes):
            data = {**valid, **changes, "csrf": csrf} if form == "/case-files" else {**changes, "csrf": csrf}
            resp = client.post(form, data=data)
            assert resp.status_code in (302, 303), (form, changes, resp.status_code)
            page = client.get(resp.headers["Location"])
            assert page.status_code < 500, (form, changes, page.status_code)
        check()
    finally:
        app.extensions["zhifa.runtime"].close()
