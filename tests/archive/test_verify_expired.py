"""A seal certificate expires (or is rotated away) long before the files it sealed stop mattering:
a copy the archive's hash-chained ledger knows byte for byte is checked as of its sealing, so it
stays the archive's own after the certificate has expired; a copy the ledger does not know is
checked as of now, so an expired certificate cannot vouch for it."""
from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pikepdf
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from services.archive import seal_keys
from services.archive.ledger import LedgerBook, record
from services.archive.verification import Verifier
from shared.db import make_engine, session_factory, transaction
from shared.migrate import Migrations

NAME = "鞍山市行政审批局档案室"
LIFETIME = 6     # seconds the short-lived seal certificate is valid after sealing


def short_lived_seal(tmp_path: Path) -> seal_keys.SealKey:
    """A CA valid for years and a seal certificate it issues that expires in LIFETIME seconds."""
    now = datetime.now(timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME}电子档案根证书")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{NAME}电子档案封存章")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(seconds=LIFETIME))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    path = tmp_path / "seal.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"seal", key, cert, [ca], serialization.NoEncryption()))
    return seal_keys.SealKey(path, None, cert, key, [ca])


def sealed(key: seal_keys.SealKey, target: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    plain = target.with_suffix(".plain.pdf")
    pdf.save(plain)
    with open(plain, "rb") as source, open(target, "wb") as out:
        signers.sign_pdf(IncrementalPdfFileWriter(source), signers.PdfSignatureMetadata(field_name="Seal"),
                         signer=key.signer(), output=out)
    return target


def test_a_file_the_ledger_knows_stays_ours_after_its_seal_certificate_expired(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    Migrations("archive").upgrade(engine)
    sessions = session_factory(engine)
    key = short_lived_seal(tmp_path)
    in_ledger = sealed(key, tmp_path / "sealed.pdf")
    unknown = sealed(key, tmp_path / "other.pdf")            # signed with the same key, never recorded
    with transaction(sessions) as session:
        record(session, "cf-1", "A001-2026-0001", hashlib.sha256(in_ledger.read_bytes()).hexdigest())
    verifier = Verifier(key.trust_roots_asn1(), LedgerBook(sessions))
    assert verifier.verify(in_ledger)["valid"] and verifier.verify(unknown)["ours"]   # before expiry: both

    time.sleep(max(0.0, key.certificate.not_valid_after_utc.timestamp() - time.time()) + 1.5)

    report = verifier.verify(in_ledger)
    assert report["valid"] and report["ours"] and report["ledger"]["found"], report["findings"]
    other = verifier.verify(unknown)
    assert not other["ours"] and not other["valid"] and other["intact"]
    engine.dispose()
