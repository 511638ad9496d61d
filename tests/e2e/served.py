"""Services and workers as real processes for the fault tests (tests/e2e/test_faults_*.py):
`zhifa serve <service>` and `zhifa worker <service>` started with a clean ZHIFA_* environment,
their output in a log under the test's tmp_path, stopped (or killed) by the test."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TOKENS, free_port, http_call

ROOT = Path(__file__).resolve().parents[2]


def clean_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")}
    env.update(ZHIFA_DATA_DIR=str(tmp_path / "var"), ZHIFA_API_KEYS=",".join(f"{t}={r}" for r, t in TOKENS.items()),
               ZHIFA_PUBLIC_VERIFY_URL="https://zhifa.example.gov.cn/verify",
               ZHIFA_FONTS_DIR=os.environ.get("ZHIFA_FONTS_DIR", str(ROOT / "build" / "fonts")))
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    """One `zhifa serve` or `zhifa worker` process."""

    def __init__(self, name: str, argv: list[str], env: dict, tmp_path: Path, port: int | None = None):
        self.name, self.argv, self.env, self.port = name, argv, env, port
        self.log_path = tmp_path / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Proc":
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", *self.argv], cwd=ROOT, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_ready(self, path: str = "/healthz", seconds: float = 120) -> "Proc":
        deadline = time.monotonic() + seconds
        while True:
            try:
                if http_call(self.base, "GET", path, token=None)[0] == 200:
                    return self
            except OSError:
                pass
            assert self.alive() and time.monotonic() < deadline, f"{self.name} did not start:\n{self.log()[-4000:]}"
            time.sleep(0.3)

    def call(self, method: str, path: str, body=None, role: str | None = "case-system", headers: dict | None = None):
        """(status, headers, JSON or text)."""
        status, headers, raw = request(self.base, method, path, body, TOKENS[role] if role else None, headers)
        text = raw.decode("utf-8", "replace")
        try:
            return status, headers, json.loads(text)
        except ValueError:
            return status, headers, text

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def request(base: str, method: str, path: str, body=None, token: str | None = None, headers: dict | None = None):
    """tests.conftest.http_call with extra headers (e.g. Prefer) and no token by default."""
    return http_call(base, method, path, body, token, headers)


def serve(service: str, tmp_path: Path, env: dict, name: str | None = None, port: int | None = None) -> Proc:
    port = port or free_port()
    return Proc(name or service, ["serve", service, "--port", str(port)], env, tmp_path, port).start()


def worker(service: str, tmp_path: Path, env: dict, name: str) -> Proc:
    """A worker, started and registered with RQ (its LibreOffice warms up first)."""
    from redis import Redis
    from rq import Worker
    connection = Redis.from_url(env["ZHIFA_REDIS_URL"])
    before = Worker.count(connection=connection)
    proc = Proc(name, ["worker", service], env, tmp_path).start()
    deadline = time.monotonic() + 120
    while Worker.count(connection=connection) <= before:
        assert proc.alive() and time.monotonic() < deadline, proc.log()[-4000:]
        time.sleep(0.2)
    return proc


def wait_until(check, seconds: float, what: str, *procs: Proc, poll: float = 0.3):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {p.name}\n{p.log()[-3000:]}" for p in procs)
            raise AssertionError(f"{what}: not within {seconds} s\n{logs}")
        time.sleep(poll)


def is_problem(headers, body, status: int) -> bool:
    return headers["Content-Type"].startswith("application/problem+json") and isinstance(body, dict) \
        and body.get("status") == status
