"""Fixtures every service's tests share: real PostgreSQL and Redis on this
machine, a fresh SQLite file per test, and a clean ZHIFA_* environment.
Each service's own fixtures live in its tests/<service>/conftest.py.

PostgreSQL: ZHIFA_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432), one new
database per test that asks for it, dropped afterwards.
Redis: ZHIFA_TEST_REDIS_URL (default db 15 on 127.0.0.1:6379), flushed per test.
"""
from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy import create_engine, text

from shared import config

PG_ADMIN_URL = os.environ.get("ZHIFA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ZHIFA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

TOKENS = {"case-system": "test-case-token", "archivist": "test-archivist-token",
          "publisher": "test-publisher-token", "admin": "test-admin-token"}


def auth(role: str = "case-system") -> dict:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a served process under test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(base: str, method: str, path: str, body=None, token: str | None = TOKENS["case-system"]):
    """One request to a served process: (status, headers, raw body); a JSON `body` is sent as JSON."""
    req = urllib.request.Request(base + path, method=method,
                                 data=json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=180) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test."""
    name = f"zhifa_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def redis_url():
    from redis import Redis
    conn = Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield REDIS_URL
    conn.flushdb()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'generator.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def zhifa_env(tmp_path, monkeypatch):
    """Environment for a service under test; returns a function to add variables."""
    for name in list(os.environ):
        if name.startswith("ZHIFA_") and not name.startswith("ZHIFA_TEST_") and name not in ("ZHIFA_FONTS_DIR",):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ZHIFA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ZHIFA_API_KEYS", ",".join(f"{t}={r}" for r, t in TOKENS.items()))
    monkeypatch.setenv("ZHIFA_PUBLIC_VERIFY_URL", "https://zhifa.example.gov.cn/verify")

    def setenv(**values):
        for k, v in values.items():
            monkeypatch.setenv(k, str(v))
        return config.load()
    return setenv
