"""Rotating the archive's seal key (README: "Rotating the seal key"): after a new seal replaces the
old one, files sealed with the old one still verify as the archive's own, through the archive's
real Verifier, as long as the old seal's CA certificate is kept in <seal dir>/trusted/."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers

from services.archive import seal_keys
from services.archive.ledger import LedgerBook
from services.archive.verification import Verifier
from shared.db import make_engine, session_factory
from shared.migrate import Migrations

ROOT = Path(__file__).resolve().parents[2]
NAME = "鞍山市行政审批局档案室"


@pytest.fixture
def verifier_for(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    Migrations("archive").upgrade(engine)
    ledger = LedgerBook(session_factory(engine))
    yield lambda key: Verifier(key.trust_roots_asn1(), ledger)
    engine.dispose()


def sealed_with(key: seal_keys.SealKey, target: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(target.with_suffix(".plain.pdf"))
    with open(target.with_suffix(".plain.pdf"), "rb") as source, open(target, "wb") as out:
        signers.sign_pdf(IncrementalPdfFileWriter(source), signers.PdfSignatureMetadata(field_name="Seal"),
                         signer=key.signer(), output=out)
    return target


def retire(seal_dir: Path, ca_pem: bytes, name: str) -> None:
    (seal_dir / seal_keys.TRUSTED_DIR).mkdir(exist_ok=True)
    (seal_dir / seal_keys.TRUSTED_DIR / name).write_bytes(ca_pem)


def test_a_new_local_seal_keeps_the_old_seals_ours_when_the_old_ca_is_retired(tmp_path, verifier_for):
    seal_dir = tmp_path / "seal"
    old = seal_keys.load(None, None, seal_dir, NAME)
    old_file = sealed_with(old, tmp_path / "old.pdf")
    # The rotation, as the README gives it: the CA into trusted/, the seal away; start again.
    retire(seal_dir, (seal_dir / seal_keys.CA_FILE).read_bytes(), "ca-retired.pem")
    (seal_dir / seal_keys.CA_FILE).unlink()
    (seal_dir / seal_keys.SEAL_FILE).unlink()
    new = seal_keys.load(None, None, seal_dir, NAME)
    assert new.certificate != old.certificate and new.trust_roots[0] != old.trust_roots[0]
    new_file = sealed_with(new, tmp_path / "new.pdf")
    verify = verifier_for(new).verify
    assert verify(old_file)["ours"] and verify(new_file)["ours"]

    shutil.rmtree(seal_dir / seal_keys.TRUSTED_DIR)        # without it the old seals are someone else's
    report = verifier_for(seal_keys.load(None, None, seal_dir, NAME)).verify(old_file)
    assert not report["ours"] and report["intact"]
    assert any("不是本档案馆的封存证书" in f for f in report["findings"])


def test_moving_from_the_local_seal_to_a_pkcs12_keeps_the_local_seals_ours(tmp_path, verifier_for):
    """The usual first rotation: the trial or local seal replaced by the archive's real one."""
    seal_dir = tmp_path / "seal"
    local = seal_keys.load(None, None, seal_dir, NAME)
    old_file = sealed_with(local, tmp_path / "old.pdf")
    secrets = tmp_path / "secrets"
    subprocess.run([str(ROOT / "deploy" / "make-secrets.sh"), str(secrets)], check=True, capture_output=True, timeout=120)
    password = (secrets / "seal-password").read_text()
    retire(seal_dir, local.trust_roots[0].public_bytes(serialization.Encoding.PEM), "local-ca.pem")
    real = seal_keys.load(secrets / "seal.p12", password, seal_dir, NAME)
    assert real.certificate != local.certificate and len(real.trust_roots) == 2
    verify = verifier_for(real).verify
    assert verify(old_file)["ours"] and verify(sealed_with(real, tmp_path / "new.pdf"))["ours"]
