"""The authorisation matrix of every endpoint of every service, generated
from the app itself: each rule of its url_map, with each method, is matched to
its operation in the service's /openapi.json, whose bearer requirement names
the roles that may call it. A route in neither the spec nor the short list of
pages and operational endpoints below fails the test, so a new endpoint
cannot escape the matrix.

For an operation that needs a token: no token, a malformed header and a wrong
token are each a 401, a token of each role not named (admin's may call
anything) a 403, both as problem+json; each role named gets past
authorisation (not 401/403). A public operation answers without a token and
with a bad one alike. The archive's pages need a session opened with an
archivist's (or admin's) token: a bearer header opens no page.
"""
from __future__ import annotations

import itertools
import re

import pytest
from werkzeug.routing import AnyConverter

from shared.auth import ROLES
from tests.conftest import TOKENS, free_port

BAD_HEADERS = {
    "no header": None,
    "empty bearer": "Bearer ",
    "bearer without space": "Bearer" + TOKENS["admin"],
    "basic scheme": "Basic " + TOKENS["admin"],
    "unknown token": "Bearer not-a-configured-token-0123456789",
    "a token's prefix": "Bearer " + TOKENS["admin"][:-1],
    "a token with more after it": "Bearer " + TOKENS["admin"] + "x",
    "a token and junk": "Bearer " + TOKENS["admin"] + " junk",
    "upper-cased token": "Bearer " + TOKENS["admin"].upper(),
    "token only": TOKENS["admin"],
}

# Routes that are not API operations: public ones, operational ones for a role (Prometheus scrapes
# /metrics with an admin token: issuance volumes are not public), and the archive's pages (a session).
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/static/<path:filename>"}
OPERATIONAL = {"/metrics": ("admin",)}
PUBLIC_PAGES = {
    "archive": {"/", "/login", "/static/archive/<path:filename>"},
    "search": {"/", "/assets/<path:filename>", "/decisions/<path:number>", "/stats", "/stats.csv", "/verify",
               "/publisher/login"},
}
SESSION_PAGES = {"archive": {"/case-files", "/case-files/<case_file_id>", "/case-files/<case_file_id>/documents",
                             "/case-files/<case_file_id>/package.tar", "/case-files/<case_file_id>/people",
                             "/case-files/<case_file_id>/seal", "/case-files/<case_file_id>/sealed.pdf",
                             "/case-files/<case_file_id>/uploads", "/case-files/<case_file_id>/collect", "/logout"},
                 "search": {"/publisher/", "/publisher/logout", "/publisher/<document_id>/publish",
                            "/publisher/<document_id>/withhold"}}
# Each service's pages behind a sign-in: (sign-in page, home after it, roles that may sign in).
SIGN_IN = {"archive": ("/login", "/case-files", ("archivist", "admin")),
           "search": ("/publisher/login", "/publisher/", ("publisher", "admin"))}


def _app(service, zhifa_env, tmp_path):
    from importlib import import_module
    env = {f"ZHIFA_{service.upper()}_DATABASE_URL": f"sqlite:///{tmp_path / (service + '.sqlite3')}",
           "ZHIFA_VERIFY_RATE_LIMIT": "100000 per minute", "ZHIFA_SEARCH_RATE_LIMIT": "100000 per minute"}
    if service == "archive":    # nobody listens: a call through to the generator is a 502/503, not an auth answer
        env.update(ZHIFA_GENERATOR_URL=f"http://127.0.0.1:{free_port()}", ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"])
    return import_module(f"services.{service}.app").create_app(zhifa_env(**env))


def _urls(app, rule) -> list[str]:
    """The rule built with a harmless value for each argument (each choice of an any(...) converter)."""
    choices = [sorted(conv.items) if isinstance(conv, AnyConverter) else ["x1"]
               for conv in rule._converters.values()]
    adapter = app.url_map.bind("localhost")
    return [adapter.build(rule.endpoint, dict(zip(rule._converters, combo)), append_unknown=False)
            for combo in itertools.product(*choices)]


def _operation(spec: dict, url: str, method: str) -> dict | None:
    for template, ops in spec["paths"].items():
        if re.fullmatch(re.sub(r"\{[^/}]+\}", "[^/]+", template), url) and method.lower() in ops:
            return ops[method.lower()]
    return None


def matrix(app) -> list[tuple[str, str, str, tuple[str, ...] | None]]:
    """(method, url, rule, roles): roles None for a public route, "session" pages apart."""
    spec = app.test_client().get("/openapi.json").get_json()
    service = app.extensions["zhifa.service"]
    rows, unknown = [], []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for url in _urls(app, rule):
                op = _operation(spec, url, method)
                if op is not None:
                    security = op.get("security")
                    if security:
                        roles = tuple(security[0]["bearer"])
                        assert roles, f"{service} {method} {url}: the spec names no role that may call it"
                        rows.append((method, url, rule.rule, roles))
                    else:
                        rows.append((method, url, rule.rule, None))
                elif rule.rule in OPERATIONAL:
                    rows.append((method, url, rule.rule, OPERATIONAL[rule.rule]))
                elif rule.rule in PUBLIC | PUBLIC_PAGES.get(service, set()):
                    rows.append((method, url, rule.rule, None))
                elif rule.rule in SESSION_PAGES.get(service, set()):
                    rows.append((method, url, rule.rule, ("session",)))
                else:
                    unknown.append(f"{method} {rule.rule}")
    assert not unknown, f"{service}: routes in neither the spec nor this test's lists: {unknown}"
    return rows


def _call(client, method: str, url: str, authorization: str | None):
    headers = {"Authorization": authorization} if authorization is not None else {}
    kwargs = {"json": {}} if method in ("POST", "PATCH", "PUT", "DELETE") else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def _assert_problem(resp, status: int, where: str) -> None:
    assert resp.status_code == status, (where, resp.status_code, resp.get_data(as_text=True)[:300])
    assert resp.mimetype == "application/problem+json", (where, resp.mimetype)
    body = resp.get_json()
    assert body["status"] == status and re.search(r"[\u4e00-\u9fff]", body["title"]), (where, body)


@pytest.mark.parametrize("service", ["generator", "archive", "search"])
def test_every_endpoint_answers_each_caller_as_its_spec_says(service, zhifa_env, tmp_path):
    app = _app(service, zhifa_env, tmp_path)
    try:
        client = app.test_client()
        rows = matrix(app)
        protected = [r for r in rows if r[3] not in (None, ("session",))]
        assert protected, f"{service}: no protected operation found"
        for method, url, _rule, roles in rows:
            where = f"{service} {method} {url}"
            if roles == ("session",):
                continue
            if roles is None:
                for label, header in (("no token", None), ("unknown token", BAD_HEADERS["unknown token"])):
                    resp = _call(client, method, url, header)
                    assert resp.status_code not in (401, 403), (where, label, resp.status_code)
                continue
            for label, header in BAD_HEADERS.items():
                resp = _call(client, method, url, header)
                _assert_problem(resp, 401, f"{where} with {label}")
                assert resp.headers["WWW-Authenticate"].startswith("Bearer"), where
            for role in ROLES:
                resp = _call(client, method, url, f"Bearer {TOKENS[role]}")
                if role in roles or role == "admin":
                    assert resp.status_code not in (401, 403), (where, role, resp.status_code,
                                                                resp.get_data(as_text=True)[:300])
                else:
                    _assert_problem(resp, 403, f"{where} as {role}")
    finally:
        app.extensions["zhifa.runtime"].close()


def _login(client, token: str, login: str = "/login"):
    page = client.get(login).get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post(login, data={"csrf": csrf, "token": token})


@pytest.mark.parametrize("service", sorted(SIGN_IN))
def test_the_pages_open_only_to_a_session_of_their_role_or_admin(service, zhifa_env, tmp_path):
    app = _app(service, zhifa_env, tmp_path)
    login, home, allowed = SIGN_IN[service]
    try:
        pages = [(m, u) for m, u, _r, roles in matrix(app) if roles == ("session",)]
        assert len(pages) >= len(SESSION_PAGES[service])
        client = app.test_client()
        for method, url in pages:
            for header in (None, f"Bearer {TOKENS['archivist']}", f"Bearer {TOKENS['admin']}"):
                # A bearer header opens no page: pages are for people with a session (and a CSRF token).
                resp = _call(client, method, url, header)
                if method == "GET":
                    assert resp.status_code == 302 and resp.headers["Location"].endswith(login), (method, url)
                else:
                    assert resp.status_code == 401, (method, url, resp.status_code)
        for role in ROLES:
            client = app.test_client()
            resp = _login(client, TOKENS[role], login)
            if role in allowed:
                assert resp.status_code == 302 and resp.headers["Location"].endswith(home), role
                for method, url in pages:
                    if method == "GET":
                        got = client.get(url)
                        assert got.status_code not in (401, 403) and not (
                            got.status_code == 302 and got.headers["Location"].endswith(login)), (role, url)
            else:
                assert resp.status_code == 401, role
                assert client.get(home).status_code == 302, role
        for bad in ("", "x", "not-a-configured-token-0123456789", TOKENS[allowed[0]][:-1]):
            assert _login(app.test_client(), bad, login).status_code == 401, bad
    finally:
        app.extensions["zhifa.runtime"].close()
