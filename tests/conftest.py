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
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shared import config

PG_ADMIN_URL = os.environ.get("ZHIFA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ZHIFA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# 32 characters or more: shorter tokens are refused at start (ZHIFA_API_KEY_MIN_LENGTH).
TOKENS = {"case-system": "test-case-token-0123456789abcdefghij", "archivist": "test-archivist-token-0123456789abcdef",
          "publisher": "test-publisher-token-0123456789abcdef", "admin": "test-admin-token-0123456789abcdefghi"}


def auth(role: str = "case-system") -> dict:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now (for a served process under test)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_call(base: str, method: str, path: str, body=None, token: str | None = TOKENS["case-system"],
              headers: dict | None = None):
    """One request to a served process: (status, headers, raw body); a JSON `body` is sent as JSON."""
    req = urllib.request.Request(base + path, method=method, headers=headers or {},
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


ROOT = Path(__file__).resolve().parents[1]


class RedisServer:
    """A redis-server of a test's own on a free port, to stop (kill: an outage, not a shutdown)
    and start again empty; never the machine's 6379, which other tests use."""

    def __init__(self, tmp: Path):
        self.port, self.tmp, self.proc = free_port(), tmp, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--daemonize", "no", "--dir", str(self.tmp)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        from redis import Redis
        deadline = time.monotonic() + 10
        while True:
            try:
                Redis.from_url(self.url).ping()
                return
            except Exception:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def start_worker(tmp_path: Path, name: str, redis_url: str, service: str) -> subprocess.Popen:
    """`zhifa worker <service>` as a process of its own, ready once RQ sees it (workers warm up first)."""
    from redis import Redis
    from rq import Worker
    log = open(tmp_path / f"{name}.log", "w")
    before = Worker.count(connection=Redis.from_url(redis_url))
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "worker", service], cwd=ROOT,
                            env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while Worker.count(connection=Redis.from_url(redis_url)) <= before:
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / f"{name}.log").read_text()
        time.sleep(0.2)
    return proc
