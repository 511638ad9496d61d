"""Page sessions end: at logout, when their token leaves the key list (the
keys file edited under a running server, or the server restarted without
it), when the token's role changes; a write with a dead cookie is refused
and the audit never names a revoked archivist."""
from __future__ import annotations

import pytest

from tests.archive.conftest import LICENSE_CASE as _CASE
from tests.conftest import TOKENS, auth, free_port

LICENSE_CASE = {**_CASE, "decision_number": "鞍审批许准字〔2026〕第1号"}
COOKIE = "zhifa_archive"
NEW_ARCHIVIST = "a-second-archivist-token-0123456789abcdef"


def make_app(zhifa_env, seal_p12, tmp_path, **extra):
    from services.archive.app import create_app
    env = {"ZHIFA_ARCHIVE_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite3'}", **extra}
    return create_app(zhifa_env(ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}", ZHIFA_GENERATOR_TOKEN="x",
                                ZHIFA_SEAL_PKCS12=seal_p12, **env))


def sign_in(client, token: str = TOKENS["archivist"]) -> str:
    client.get("/login")
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    resp = client.post("/login", data={"csrf": csrf, "token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/case-files"), resp.get_data(as_text=True)
    return client.get_cookie(COOKIE).value


def csrf_of(client) -> str:
    with client.session_transaction() as sess:
        return sess["csrf"]


def page_form(number: str, csrf: str) -> dict:
    form = {k: v for k, v in LICENSE_CASE.items() if k != "party"}
    form.update(party=LICENSE_CASE["party"]["name"], party_kind="organization",
                party_credit_code=LICENSE_CASE["party"]["credit_code"], archive_number=number, csrf=csrf)
    return form


def create_by_page(client, number: str):
    form = page_form(number, csrf_of(client))
    return client.post("/case-files", data=form)


def with_cookie(app, cookie: str):
    client = app.test_client()
    client.set_cookie(COOKIE, cookie)
    return client


def case_numbers(app) -> list[str]:
    resp = app.test_client().get("/v1/case-files", headers=auth("admin"))
    return [cf["archive_number"] for cf in resp.get_json()["case_files"]]


def audit_actors(app) -> set[str]:
    resp = app.test_client().get("/v1/audit", headers=auth("admin"))
    return {e["actor"] for e in resp.get_json()["entries"]}


def assert_dead(app, cookie: str, number: str) -> None:
    """The old cookie opens no page and writes nothing."""
    client = with_cookie(app, cookie)
    resp = client.get("/case-files")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/login")
    client = with_cookie(app, cookie)
    assert client.get("/").headers["Location"].endswith("/login")
    # A write carrying the old cookie and the CSRF token it was issued with.
    client = with_cookie(app, cookie)
    with client.session_transaction() as sess:
        csrf = sess.get("csrf", "")
    form = page_form(number, csrf)
    resp = client.post("/case-files", data=form)
    assert resp.status_code == 401 and "登录已失效" in resp.get_data(as_text=True)
    assert number not in case_numbers(app)


def test_logout_ends_the_session(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    cookie = sign_in(client)
    with client.session_transaction() as sess:
        stolen_csrf = sess["csrf"]
    assert create_by_page(client, "A012-2026-Y-0101").status_code == 302
    assert "A012-2026-Y-0101" in case_numbers(app)
    assert client.post("/logout", data={"csrf": stolen_csrf}).status_code == 302
    # The cookie saved before logout, replayed with its own CSRF token.
    replay = with_cookie(app, cookie)
    assert replay.get("/case-files").headers["Location"].endswith("/login")
    replay = with_cookie(app, cookie)
    form = page_form("A012-2026-Y-0102", stolen_csrf)
    resp = replay.post("/case-files", data=form)
    assert resp.status_code == 401
    assert "A012-2026-Y-0102" not in case_numbers(app)
    app.extensions["zhifa.runtime"].close()


def test_a_token_removed_from_the_keys_file_kills_its_sessions_at_once(zhifa_env, seal_p12, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text(f"{TOKENS['archivist']}=archivist\n{TOKENS['admin']}=admin\n", encoding="utf-8")
    app = make_app(zhifa_env, seal_p12, tmp_path, ZHIFA_API_KEYS="", ZHIFA_API_KEYS_FILE=keys)
    client = app.test_client()
    cookie = sign_in(client)
    assert create_by_page(client, "A012-2026-Y-0201").status_code == 302
    with client.session_transaction() as sess:
        csrf = sess["csrf"]
    before = audit_actors(app)
    # The operator replaces the archivist's token (same role, new secret) in the running server's file.
    keys.write_text(f"# rotated\n{NEW_ARCHIVIST} = archivist\n{TOKENS['admin']}=admin\n", encoding="utf-8")
    resp = client.post("/case-files", data=page_form("A012-2026-Y-0202", csrf))
    assert resp.status_code == 401
    assert client.get("/case-files").headers["Location"].endswith("/login")
    assert_dead(app, cookie, "A012-2026-Y-0203")
    assert {"A012-2026-Y-0202", "A012-2026-Y-0203"}.isdisjoint(case_numbers(app))
    assert audit_actors(app) == before
    # The API refuses the old token too; the new one works, and its pages open.
    assert app.test_client().get("/v1/case-files", headers=auth("archivist")).status_code == 401
    assert app.test_client().get("/v1/case-files", headers={"Authorization": f"Bearer {NEW_ARCHIVIST}"}).status_code == 200
    fresh = app.test_client()
    sign_in(fresh, NEW_ARCHIVIST)
    assert fresh.get("/case-files").status_code == 200
    app.extensions["zhifa.runtime"].close()


@pytest.mark.parametrize("edit", ["publisher", "deleted", "broken"])
def test_a_role_change_or_a_broken_keys_file_ends_page_sessions(zhifa_env, seal_p12, tmp_path, edit):
    keys = tmp_path / "keys"
    keys.write_text(f"{TOKENS['archivist']}=archivist\n{TOKENS['admin']}=admin\n", encoding="utf-8")
    app = make_app(zhifa_env, seal_p12, tmp_path, ZHIFA_API_KEYS="", ZHIFA_API_KEYS_FILE=keys)
    cookie = sign_in(app.test_client())
    assert with_cookie(app, cookie).get("/case-files").status_code == 200
    if edit == "publisher":
        keys.write_text(f"{TOKENS['archivist']}=publisher\n{TOKENS['admin']}=admin\n", encoding="utf-8")
    elif edit == "deleted":
        keys.unlink()
    else:   # half-written by an editor: fail closed, not "keep the old keys"
        keys.write_text(f"{TOKENS['archivist']}=archivist\n{TOKENS['admin']}=superuser\n", encoding="utf-8")
    assert with_cookie(app, cookie).get("/case-files").headers["Location"].endswith("/login")
    app.extensions["zhifa.runtime"].close()


def test_a_restart_without_the_token_kills_its_sessions(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    cookie = sign_in(app.test_client())
    app.extensions["zhifa.runtime"].close()
    # Same data directory (session secret) and database, the archivist's token gone from ZHIFA_API_KEYS.
    others = ",".join(f"{t}={r}" for r, t in TOKENS.items() if r != "archivist")
    app = make_app(zhifa_env, seal_p12, tmp_path, ZHIFA_API_KEYS=others)
    assert_dead(app, cookie, "A012-2026-Y-0301")
    assert not any(a.startswith("archivist:") for a in audit_actors(app))
    app.extensions["zhifa.runtime"].close()


def test_a_forged_or_foreign_session_id_opens_nothing(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    sign_in(client)
    with client.session_transaction() as sess:
        sess["sid"] = "x" * 43                       # signed by us, but no such session
    assert client.get("/case-files").headers["Location"].endswith("/login")
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["sid"] = ["not", "a", "string"]
        sess["actor"] = "archivist:deadbeef"         # what the old cookie format trusted
    assert client.get("/case-files").headers["Location"].endswith("/login")
    app.extensions["zhifa.runtime"].close()


def test_ended_and_expired_sessions_are_purged_after_a_day(zhifa_env, seal_p12, tmp_path):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select, update

    from services.archive.models import PageSession
    from services.archive.runtime import purge_page_sessions
    from shared.db import transaction
    app = make_app(zhifa_env, seal_p12, tmp_path)
    sessions = app.extensions["zhifa.runtime"].case_files.sessions
    live, old = app.test_client(), app.test_client()
    sign_in(live)
    sign_in(old)
    old.post("/logout", data={"csrf": csrf_of(old)})
    with transaction(sessions) as db:
        db.execute(update(PageSession).where(PageSession.ended_at.is_not(None))
                   .values(ended_at=datetime.now(timezone.utc) - timedelta(days=2)))
    assert purge_page_sessions(sessions) == 1
    with transaction(sessions) as db:
        assert db.execute(select(func.count()).select_from(PageSession)).scalar() == 1
    assert live.get("/case-files").status_code == 200
    app.extensions["zhifa.runtime"].close()


def test_every_page_write_with_a_dead_session_is_refused_and_changes_nothing(zhifa_env, seal_p12, tmp_path):
    import io

    from tests.archive import samples
    from tests.archive.conftest import open_case
    app = make_app(zhifa_env, seal_p12, tmp_path)
    api = app.test_client()
    case = open_case(api, archive_number="A012-2026-Y-0401", decision_number="鞍审批许准字〔2026〕第4号")
    client = app.test_client()
    cookie = sign_in(client)
    csrf = csrf_of(client)
    client.post("/logout", data={"csrf": csrf})
    before = api.get(f"/v1/case-files/{case['id']}", headers=auth("archivist")).get_json()
    audit_before = api.get("/v1/audit", headers=auth("admin")).get_json()["entries"]
    base = f"/case-files/{case['id']}"
    writes = [
        (base + "/documents", {"data": {"csrf": csrf, "document_id": "0" * 36}}),
        (base + f"/uploads?csrf={csrf}", {"data": {"file": (io.BytesIO(samples.scan_jpeg()), "scan.jpg"),
                                                   "title": "扫描件", "kind": "evidence", "date": "2026-03-02"},
                                          "content_type": "multipart/form-data"}),
        (base + "/people", {"data": {"csrf": csrf, "compiled_by": "冒名者", "checked_by": "冒名者"}}),
        (base + "/seal", {"data": {"csrf": csrf, "override_reason": "冒名封存"}}),
    ]
    for path, kwargs in writes:
        replay = with_cookie(app, cookie)
        resp = replay.post(path, **kwargs)
        assert resp.status_code == 401, (path, resp.status_code)
    after = api.get(f"/v1/case-files/{case['id']}", headers=auth("archivist")).get_json()
    assert after == before
    assert api.get("/v1/audit", headers=auth("admin")).get_json()["entries"] == audit_before
    app.extensions["zhifa.runtime"].close()
