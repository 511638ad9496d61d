"""What a new user meets at the command line: one clear line and exit code 2
instead of a traceback, a warning when no token can write, a way to get one."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def zhifa(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")}
    return subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)


def test_check_templates_on_a_missing_directory_is_one_line(tmp_path):
    result = zhifa("check-templates", str(tmp_path / "missing"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"zhifa check-templates: {tmp_path / 'missing'}: not a templates directory (no catalogue.json there)"]


def test_serving_an_unknown_service_is_one_line(tmp_path):
    result = zhifa("serve", "archives", env={"ZHIFA_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "invalid choice: 'archives'" in result.stderr and "generator" in result.stderr


def test_a_broken_template_at_start_is_reported_without_a_traceback(tmp_path):
    from services.generator.catalogue import TEMPLATES_DIR
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES_DIR, templates)
    (templates / "penalty_decision.docx").write_bytes(b"not a word document")
    result = zhifa("serve", "generator", "--port", "1", env={
        "ZHIFA_DATA_DIR": str(tmp_path / "var"), "ZHIFA_TEMPLATES_DIR": str(templates),
        "ZHIFA_API_KEYS": "t" * 32 + "=case-system"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("zhifa serve: ") and "penalty_decision" in result.stderr


def test_serving_without_any_api_key_warns_that_writes_will_be_refused(tmp_path):
    with socket.socket() as taken:           # the port is in use: serve stops right after the warning
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = zhifa("serve", "generator", "--port", str(taken.getsockname()[1]),
                       env={"ZHIFA_DATA_DIR": str(tmp_path)})
    assert "no API key configured" in result.stderr and "every write request will be refused" in result.stderr
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "zhifa serve: [Errno 98] Address already in use"


@pytest.mark.parametrize("keys_exist", [False, True])
def test_run_prints_a_way_to_get_a_token(tmp_path, keys_exist):
    from services.cli import _demo_api_keys
    from shared import config
    settings = config.Settings(**{**config.load().__dict__, "data_dir": tmp_path})
    if keys_exist:
        (tmp_path / "api-keys").write_text("kept=case-system\n")
    path = _demo_api_keys(settings)
    text = Path(path).read_text()
    token = subprocess.run(["sed", "-n", "s/=case-system$//p", path], capture_output=True, text=True).stdout.strip()
    assert token and f"{token}=case-system" in text
    if keys_exist:
        assert token == "kept"
    else:
        assert Path(path).stat().st_mode & 0o777 == 0o600


def test_serving_with_a_short_token_stops_at_start_naming_the_variable(tmp_path):
    result = zhifa("serve", "generator", "--port", "1", env={"ZHIFA_DATA_DIR": str(tmp_path),
                                                            "ZHIFA_API_KEYS": "1=case-system"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("zhifa serve: API keys: ZHIFA_API_KEYS: ") and "fewer than 32" in line
