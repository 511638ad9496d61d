"""shared.web and shared.ratelimit on a tiny app: what a hostile JSON body,
a browser and an impatient client get back."""
from __future__ import annotations

import json
import time

import pytest
from flask import jsonify

from shared import ratelimit
from shared.web import create_base_app, json_body


@pytest.fixture
def make_app(zhifa_env):
    def make(**env):
        app = create_base_app("generator", zhifa_env(**env), {}, {})

        @app.post("/echo")
        def echo():
            return jsonify(json_body())

        @app.get("/v1/verify")
        def verify():
            return jsonify(authentic=False)
        return app
    return make


def post(client, raw: str | bytes):
    return client.post("/echo", data=raw, content_type="application/json")


def test_deep_nesting_is_a_400_problem_not_a_500(make_app):
    resp = post(make_app().test_client(), "[" * 100_000 + "]" * 100_000)
    assert resp.status_code == 400
    assert resp.json["errors"][0]["path"] == "body"


def test_an_integer_too_long_to_parse_is_refused_by_its_path(make_app):
    resp = post(make_app().test_client(), '{"decision": {"penalties": [{"amount_yuan": ' + "9" * 5000 + "}]}}")
    assert resp.status_code == 422
    assert [e["path"] for e in resp.json["errors"]] == ["decision/penalties/0/amount_yuan"]


def test_infinite_numbers_are_refused_by_their_paths(make_app):
    resp = post(make_app().test_client(), '{"a": 1e400, "b": [1, -1e999], "c": 1.5}')
    assert resp.status_code == 422
    assert [e["path"] for e in resp.json["errors"]] == ["a", "b/1"]


def test_ordinary_numbers_pass(make_app):
    resp = post(make_app().test_client(), '{"a": 1e300, "b": -' + "9" * 4300 + ', "c": 0.5}')
    assert resp.status_code == 200
    assert resp.json["a"] == 1e300 and resp.json["c"] == 0.5


def test_a_service_with_a_larger_body_limit_keeps_json_bodies_small(zhifa_env):
    settings = zhifa_env(ZHIFA_MAX_BODY_BYTES=1000)
    app = create_base_app("archive", settings, {}, {}, max_body_bytes=10_000)

    @app.post("/echo")
    def echo():
        return jsonify(json_body())
    resp = post(app.test_client(), json.dumps({"x": "y" * 5000}))
    assert resp.status_code == 413
    assert "1000" in resp.json["detail"]


def test_a_browser_gets_an_escaped_chinese_page_and_a_program_gets_json(make_app):
    client = make_app().test_client()
    browser = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    resp = client.post("/echo", data='{"<script>x</script>": 1e400}', content_type="application/json",
                       headers=browser)
    assert resp.status_code == 422
    assert resp.content_type.startswith("text/html")
    page = resp.get_data(as_text=True)
    assert "请求数据校验未通过" in page and 'lang="zh-CN"' in page
    assert "<script>" not in page and "&lt;script&gt;" in page

    for accept in ("application/json", "*/*", None):
        resp = client.get("/missing", headers={"Accept": accept} if accept else {})
        assert resp.status_code == 404 and resp.content_type.startswith("application/problem+json")


def test_the_request_id_is_a_sane_given_one_or_a_new_one(make_app):
    client = make_app().test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz", headers={"X-Request-ID": "a b;c" + "x" * 200}).headers["X-Request-ID"]
    assert "a b" not in made and len(made) == 32
    assert client.get("/healthz").headers["X-Request-ID"] != made


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_a_public_endpoint_answers_429_with_retry_after_past_its_limit(make_app, storage, request):
    env = {"ZHIFA_RATELIMIT_STORAGE_URL": request.getfixturevalue("redis_url")} if storage == "redis" else {}
    app = make_app(**env)
    ratelimit.limit(app, "verify", "3 per minute")
    client = app.test_client()
    assert [client.get("/v1/verify").status_code for _ in range(3)] == [200, 200, 200]
    resp = client.get("/v1/verify")
    assert resp.status_code == 429
    assert resp.content_type.startswith("application/problem+json") and resp.json["title"] == "请求过于频繁"
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    other = client.get("/v1/verify", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200                        # counted per client
    assert client.get("/healthz").status_code == 200       # other endpoints are not limited


def test_rate_limiting_survives_an_unreachable_redis(make_app):
    app = make_app(ZHIFA_RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")
    ratelimit.limit(app, "verify", "2 per minute")
    client = app.test_client()
    assert [client.get("/v1/verify").status_code for _ in range(3)] == [200, 200, 429]


def test_counting_in_memory_starts_no_thread_per_request_and_forgets_old_counts(make_app, monkeypatch):
    """limits' own memory storage started a Timer thread on nearly every public request, and the
    request waited for it to run. One sweeper thread now serves the storage, and counts whose
    window has passed are dropped by it."""
    import threading
    monkeypatch.setattr(ratelimit, "SWEEP_SECONDS", 0.05)
    app = make_app()
    ratelimit.limit(app, "verify", "100 per second")
    client = app.test_client()
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: (started.append(self.name), real_start(self))[1])
    for i in range(30):
        assert client.get("/v1/verify", environ_base={"REMOTE_ADDR": f"10.0.1.{i}"}).status_code == 200
        time.sleep(0.015)       # past the base storage's 10 ms timer, which then started anew
    assert started.count("ratelimit-sweep") <= 1 and len(started) <= 1, started
    storage = app.extensions["zhifa.limiter"].storage
    assert len(storage.events) == 30
    deadline = time.monotonic() + 5
    while storage.events and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not storage.events, "counts of a passed window were never dropped"
