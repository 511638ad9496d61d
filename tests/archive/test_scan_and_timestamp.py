"""The seal's two outside helpers, really exercised: a real clamd (Debian's
clamav-daemon) with a one-signature database of our own — the public virus
databases cannot be downloaded here, so the EICAR test string stands for
malware —, and a real RFC 3161 exchange with a local time-stamping authority
(pyHanko's DummyTimeStamper answering HTTP, as a TSA would)."""
from __future__ import annotations

import datetime
import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from PIL import Image

from services.archive.malware import ClamdScanner
from tests.archive import samples
from tests.archive.conftest import EICAR, archive_env, open_case, upload, wait_sealed
from tests.conftest import auth

ARCHIVIST = auth("archivist")
def license_case(client, license_documents) -> dict:
    """An open license case file holding its three generated documents."""
    accepted, granted, receipt = license_documents
    case = open_case(client, decision_number=granted["number"])
    for doc in (accepted, granted, receipt):
        assert client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]},
                           headers=ARCHIVIST).status_code == 201
    return case


def jpeg_carrying(payload: bytes) -> bytes:
    """A valid scan whose JPEG comment segment carries `payload`."""
    image = Image.open(io.BytesIO(samples.scan_jpeg()))
    out = io.BytesIO()
    image.save(out, "JPEG", dpi=(100, 100), comment=payload)
    return out.getvalue()


def test_clamd_finds_the_test_signature_and_passes_clean_bytes(clamd):
    scanner = ClamdScanner(clamd)
    found = scanner.scan([b"harmless prefix ", EICAR])
    assert not found.clean and found.signature == "Zhifa-Test-Eicar.UNOFFICIAL"
    assert scanner.scan([samples.scan_jpeg()]).clean
    assert ClamdScanner("unix:/nonexistent/clamd.sock").scan([b"x"]).error   # unreachable: not "clean"


def test_an_infected_original_fails_the_security_check_and_blocks_the_seal(
        zhifa_env, generator, seal_p12, license_documents, clamd, tmp_path):
    from services.archive.app import create_app
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_CLAMD=clamd,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    client = app.test_client()
    try:
        case = license_case(client, license_documents)
        meta = {"title": "现场照片", "kind": "evidence", "category": "photo", "date": "2026-03-10",
                "author": "社会事务审批科"}
        added = upload(client, case["id"], "photo.jpg", jpeg_carrying(EICAR), meta)
        assert added.status_code == 201, added.get_json().get("errors")
        checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
        scan = next(c for c in checks["checks"] if c["id"] == "malware_scan")
        assert not checks["passed"] and not scan["passed"] and "Zhifa-Test-Eicar" in scan["detail"]
        refused = client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST)
        assert refused.status_code == 409
    finally:
        app.extensions["zhifa.runtime"].close()


def _tsa_identity():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "本地测试时间戳服务")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(key, hashes.SHA256()))
    return (asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
            asn1_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption())))


@pytest.fixture
def tsa():
    """A time-stamping authority on 127.0.0.1 speaking RFC 3161 over HTTP."""
    from pyhanko.sign.timestamps import DummyTimeStamper
    cert, key = _tsa_identity()
    stamper = DummyTimeStamper(tsa_cert=cert, tsa_key=key)
    requests: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            requests.append(body)
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/tsa", requests
    server.shutdown()


def test_the_seal_carries_a_timestamp_from_the_configured_authority(
        zhifa_env, generator, seal_p12, license_documents, tsa, clamd, tmp_path):
    from services.archive.app import create_app
    url, requests = tsa
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_TSA_URL=url, ZHIFA_CLAMD=clamd,
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'a.sqlite3'}"))
    client = app.test_client()
    try:
        case = license_case(client, license_documents)
        assert client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST).status_code == 202
        assert wait_sealed(client, case["id"])["status"] == "sealed"
        assert requests                                  # pyHanko asked the TSA (it also sizes the token first)
        pdf = client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).data
        answer = client.post("/v1/verify", data={"file": (io.BytesIO(pdf), "sealed.pdf")},
                             content_type="multipart/form-data").get_json()
        assert answer["valid"] and answer["intact"]
        assert answer["timestamp"]["present"] and answer["timestamp"]["intact"]
    finally:
        app.extensions["zhifa.runtime"].close()
