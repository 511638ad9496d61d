"""The archive under test, with a real generator service (a `zhifa serve
generator` subprocess with LibreOffice) issuing the documents it archives."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from services.archive import seal_keys
from services.generator.catalogue import Catalogue
from shared.dates import today_in_china
from tests.conftest import TOKENS, auth, free_port, http_call

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Catalogue()



def call(base: str, method: str, path: str, body=None, token: str | None = TOKENS["case-system"]):
    status, _, raw = http_call(base, method, path, body, token)
    return status, json.loads(raw or b"null")


class Generator:
    """The running generator: issues real documents (DOCX → PDF by LibreOffice)."""

    def __init__(self, url: str):
        self.url = url

    def issue(self, doc_type: str, **changes) -> dict:
        data = copy.deepcopy(CATALOGUE.get(doc_type).example)
        data.update(changes)
        status, body = call(self.url, "POST", "/v1/documents", {"type": doc_type, "data": data, "formats": ["pdf"]})
        assert status == 201, body
        return body

    def receipt_for(self, served: dict) -> dict:
        data = copy.deepcopy(CATALOGUE.get("service_receipt").example)
        data["service"]["document_number"] = served["number"]
        data["service"]["document_title"] = served["title"]
        data["party"] = served["data"]["party"]          # one case, one party (一案一卷)
        return self.issue("service_receipt", **data)


@pytest.fixture(scope="session")
def generator(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generator")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZHIFA_") or k.startswith("ZHIFA_TEST_")
           or k == "ZHIFA_FONTS_DIR"}
    env.update(ZHIFA_DATA_DIR=str(tmp / "var"), ZHIFA_API_KEYS=",".join(f"{t}={r}" for r, t in TOKENS.items()),
               ZHIFA_SOFFICE_POOL_SIZE="1", ZHIFA_PUBLIC_VERIFY_URL="https://zhifa.example.gov.cn/verify")
    log = open(tmp / "generator.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", "generator", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if call(url, "GET", "/readyz", token=None)[0] == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError((tmp / "generator.log").read_text())
        time.sleep(0.3)
    yield Generator(url)
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


@pytest.fixture(scope="session")
def license_documents(generator) -> list[dict]:
    """A license case's documents: acceptance notice, grant decision, its service receipt."""
    accepted = generator.issue("license_acceptance_notice")
    granted = generator.issue("license_grant_decision")
    return [accepted, granted, generator.receipt_for(granted)]


@pytest.fixture(scope="session")
def seal_p12(tmp_path_factory) -> Path:
    """One local CA and seal certificate for the session (made once: RSA keys take a second)."""
    directory = tmp_path_factory.mktemp("seal")
    seal_keys.make_local_seal(directory, "鞍山市行政审批局档案室")
    return directory / seal_keys.SEAL_FILE


def archive_env(zhifa_env, generator, seal_p12, **extra):
    return zhifa_env(ZHIFA_GENERATOR_URL=generator.url, ZHIFA_GENERATOR_TOKEN=TOKENS["archivist"],
                     ZHIFA_SEAL_PKCS12=seal_p12, **extra)


@pytest.fixture
def archive(zhifa_env, generator, seal_p12, tmp_path):
    """The archive app on SQLite; yields (app, client)."""
    from services.archive.app import create_app
    app = create_app(archive_env(zhifa_env, generator, seal_p12,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'archive.sqlite3'}"))
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()


@pytest.fixture
def scanned_archive(zhifa_env, generator, seal_p12, clamd, tmp_path):
    """The archive with its malware scan configured: without one the scan
    check does not pass (a check that did not run is not a pass)."""
    from services.archive.app import create_app
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_CLAMD=clamd,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'archive.sqlite3'}"))
    yield app, app.test_client()
    app.extensions["zhifa.runtime"].close()


EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory):
    """A real clamd with a one-signature database of our own (EICAR stands for malware)."""
    if not Path(CLAMD).exists():
        pytest.fail("clamd is missing: deploy/setup.sh installs clamav-daemon")
    tmp = tmp_path_factory.mktemp("clamd")
    (tmp / "db").mkdir()
    (tmp / "db" / "zhifa-test.ndb").write_text(f"Zhifa-Test-Eicar:0:*:{EICAR.hex()}\n")
    socket_path = tmp / "clamd.sock"
    (tmp / "clamd.conf").write_text(f"LocalSocket {socket_path}\nDatabaseDirectory {tmp / 'db'}\n"
                                    f"Foreground yes\nLogFile {tmp / 'clamd.log'}\n")
    proc = subprocess.Popen([CLAMD, "-c", str(tmp / "clamd.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not socket_path.exists():
        assert proc.poll() is None and time.monotonic() < deadline, (tmp / "clamd.log").read_text()
        time.sleep(0.1)
    yield f"unix:{socket_path}"
    proc.terminate()
    proc.wait(10)


LICENSE_CASE = {
    "archive_number": "A012-2026-Y-0007", "fonds": "A012", "fonds_name": "鞍山市行政审批局",
    "title": "鞍山市铁东区示例餐饮有限公司食品经营许可案", "case_type": "license",
    # The party of the generator's example licence documents (一案一卷 checks each document against it).
    "party": {"kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司", "credit_code": "91210302MA10Q8KX3B"},
    # Closed today: the generator issues its documents today, and nothing dated after closing joins a file.
    "decision_number": "", "handling_unit": "社会事务审批科", "opened_on": "2026-03-02",
    "closed_on": today_in_china().isoformat(),
    "retention": "30年", "compiled_by": "王敏", "checked_by": "李强",
}


def open_case(client, **changes) -> dict:
    body = {**LICENSE_CASE, **changes}
    resp = client.post("/v1/case-files", json=body, headers=auth("archivist"))
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def upload(client, case_id: str, name: str, data: bytes, meta: dict, content_type: str = "application/octet-stream"):
    import io
    return client.post(f"/v1/case-files/{case_id}/items", headers=auth("archivist"),
                       data={"file": (io.BytesIO(data), name, content_type),
                             "meta": json.dumps(meta, ensure_ascii=False)},
                       content_type="multipart/form-data")


def wait_sealed(client, case_id: str, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = client.get(f"/v1/case-files/{case_id}", headers=auth("archivist")).get_json()
        if body["status"] != "sealing":
            return body
        time.sleep(0.2)
    raise AssertionError("sealing did not finish")


def download_sealed(client, case_id: str, tmp_path: Path, headers: dict | None = None) -> tuple[dict, Path]:
    """After a 202 to …/seal: the case file once sealed (asserted) and its PDF as tmp_path/sealed.pdf."""
    body = wait_sealed(client, case_id)
    assert body["status"] == "sealed", body
    path = tmp_path / "sealed.pdf"
    path.write_bytes(client.get(f"/v1/case-files/{case_id}/pdf", headers=headers or auth("archivist")).data)
    return body, path
