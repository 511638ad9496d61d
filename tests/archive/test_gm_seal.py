"""The 国密 seal: an SM2 key and certificate under a local SM2 CA, a real
seal by the archive's Sealer (certification, stamp) with SM3/SM2 identifiers
in the CMS, and its own verification: intact, ours, whole file; a flipped
byte, an appended update, another GM key and an RSA seal are each told apart."""
from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pikepdf
import pytest
from asn1crypto import cms

from services.archive.gm_seal import KEY_FILE, SM2_CURVE, SM2_SM3, SM3, GmSealKey, make_local_gm_seal, verify_gm
from services.archive.sealing import Sealer
from tests.archive import samples

NAME = "鞍山市行政审批局档案室"


@pytest.fixture(scope="module")
def gm(tmp_path_factory):
    directory = tmp_path_factory.mktemp("gm")
    make_local_gm_seal(directory / "seal", NAME)
    return directory / "seal"


def sealed_copy(tmp_path: Path, key, name: str = "sealed.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(samples.simple_pdf(2))
    fonts = Path(os.environ.get("ZHIFA_FONTS_DIR", "build/fonts"))
    Sealer(key, fonts / "NotoSerifCJKsc-Bold.otf", NAME).seal(path, "A012-2026-Y-0007", 1)
    return path


def appended_update(path: Path, target: Path) -> Path:
    """A copy of `path` with an incremental update after the seal (the catalog's /Lang changed)."""
    from pyhanko.pdf_utils.generic import NameObject, TextStringObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    shutil.copy(path, target)
    with open(target, "r+b") as fh:
        writer = IncrementalPdfFileWriter(fh)
        writer.root[NameObject("/Lang")] = TextStringObject("en")
        writer.update_root()
        writer.write_in_place()
    return target


def test_a_gm_sealed_file_verifies_and_carries_the_gm_identifiers(gm, tmp_path):
    assert stat.S_IMODE((gm / KEY_FILE).stat().st_mode) == 0o600
    assert not [p for p in gm.iterdir() if "ca" in p.name and p.suffix == ".key"]       # the CA key is not kept
    key = GmSealKey.load(gm)
    path = sealed_copy(tmp_path, key)
    result = verify_gm(path, key.ca)
    assert result["valid"] and result["intact"] and result["ours"] and not result["modified_after_seal"], result
    assert result["algorithm"] == "SM2-with-SM3" and "封存章" in result["signer"]
    with pikepdf.open(path) as pdf:
        sig = pdf.Root.AcroForm.Fields[0].V
        assert sig.SubFilter == "/ETSI.CAdES.detached" and "/Reference" in sig     # a certification (DocMDP)
        assert pdf.Root.Perms.DocMDP.objgen == sig.objgen
        signed = cms.ContentInfo.load(bytes(sig.Contents).rstrip(b"\0"))["content"]
    info = signed["signer_infos"][0]
    assert info["digest_algorithm"]["algorithm"].dotted == SM3
    assert info["signature_algorithm"]["algorithm"].dotted == SM2_SM3
    cert = signed["certificates"][0].chosen
    assert cert.public_key["algorithm"]["parameters"].chosen.dotted == SM2_CURVE


def test_changes_other_keys_and_rsa_seals_are_told_apart(gm, tmp_path, seal_p12):
    key = GmSealKey.load(gm)
    path = sealed_copy(tmp_path, key)
    data = bytearray(path.read_bytes())
    where = data.index(b"595")          # a page's width, inside the signed range
    data[where + 2] = ord("4")
    flipped = tmp_path / "flipped.pdf"
    flipped.write_bytes(bytes(data))
    result = verify_gm(flipped, key.ca)
    assert not result["valid"] and not result["intact"] and "SM3" in result["findings"][0]

    appended = appended_update(path, tmp_path / "appended.pdf")
    result = verify_gm(appended, key.ca)
    assert result["intact"] and result["modified_after_seal"] and not result["valid"]

    other_dir = tmp_path / "other"
    make_local_gm_seal(other_dir, "另一单位")
    other = sealed_copy(tmp_path, GmSealKey.load(other_dir), "other.pdf")
    result = verify_gm(other, key.ca)
    assert result["intact"] and not result["ours"] and not result["valid"]

    from services.archive import seal_keys
    rsa = seal_keys.load(seal_p12, None, tmp_path / "rsa", NAME)
    result = verify_gm(sealed_copy(tmp_path, rsa, "rsa.pdf"), key.ca)
    assert not result["valid"] and "国密" in result["findings"][0]

    unsigned = tmp_path / "unsigned.pdf"
    unsigned.write_bytes(samples.simple_pdf(1))
    assert verify_gm(unsigned, key.ca)["findings"] == ["文件没有电子签名。"]


def test_the_sm2_profile_seals_case_files_and_public_verify_checks_them(zhifa_env, generator, seal_p12, tmp_path):
    """ZHIFA_SEAL_ALGORITHM=sm2: the archive seals with its SM2 key; POST /v1/verify answers as for RSA."""
    from services.archive.app import create_app
    from tests.archive.conftest import archive_env, open_case, upload, wait_sealed
    from tests.conftest import auth
    app = create_app(archive_env(zhifa_env, generator, seal_p12, ZHIFA_SEAL_ALGORITHM="sm2",
                                 ZHIFA_ARCHIVE_DATABASE_URL=f"sqlite:///{tmp_path / 'archive.sqlite3'}"))
    try:
        client = app.test_client()
        archivist = auth("archivist")
        case = open_case(client, archive_number="A012-2026-Y-0501", decision_number="鞍审批许〔2026〕9号")
        assert upload(client, case["id"], "e.pdf", samples.simple_pdf(2), {"title": "书证", "kind": "evidence",
                                                                          "date": "2026-03-03"}).status_code == 201
        assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：只含书证"},
                           headers=archivist).status_code == 202
        body = wait_sealed(client, case["id"])
        assert body["status"] == "sealed", body
        path = tmp_path / "sealed.pdf"
        path.write_bytes(client.get(f"/v1/case-files/{case['id']}/pdf", headers=archivist).data)
        with pikepdf.open(path) as pdf:
            sig = pdf.Root.AcroForm.Fields[0].V
            info = cms.ContentInfo.load(bytes(sig.Contents).rstrip(b"\0"))["content"]["signer_infos"][0]
        assert info["signature_algorithm"]["algorithm"].dotted == SM2_SM3

        def verify(p: Path) -> dict:
            with open(p, "rb") as fh:
                resp = client.post("/v1/verify", data={"file": (fh, "copy.pdf")}, content_type="multipart/form-data")
            assert resp.status_code == 200
            return resp.get_json()
        result = verify(path)
        assert result["valid"] and result["intact"] and result["ours"] and result["algorithm"] == "SM2-with-SM3", result
        assert not result["modified_after_seal"] and result["changes"] == []
        assert result["ledger"]["found"] and result["archive_number"] == "A012-2026-Y-0501", result
        assert result["sealed_at"].endswith("+08:00")
        data = bytearray(path.read_bytes())
        data[data.index(b"/MediaBox") + 12] ^= 0x01
        damaged = tmp_path / "damaged.pdf"
        damaged.write_bytes(bytes(data))
        result = verify(damaged)
        assert not result["valid"] and not result["ledger"]["found"]
        # Changed after the SM2 seal: not valid, the change named, the sealed revision found in the ledger
        # (the same answer as for an RSA seal, from the bounded child).
        appended = appended_update(path, tmp_path / "appended.pdf")
        result = verify(appended)
        assert not result["valid"] and result["intact"] and result["ours"] and result["modified_after_seal"], result
        assert result["changes"] and "封存之后被修改" in result["findings"][0]
        assert result["signed_revision"]["ledger_found"] and result["signed_revision"]["bytes"] == path.stat().st_size
    finally:
        app.extensions["zhifa.runtime"].close()


def test_registering_the_gm_identifiers_keeps_asn1crypto_working_for_everything_else():
    """asn1crypto builds its name→OID maps once per class; the GM names must join them, not reset them
    (a reset broke every RSA seal made later in the same process)."""
    from asn1crypto import algos

    from services.archive import gm_seal
    for cls in (algos.DigestAlgorithmId, algos.SignedDigestAlgorithmId):
        cls._map.pop(SM3, None), cls._map.pop(SM2_SM3, None)
    algos.DigestAlgorithm({"algorithm": "sha256"}).dump(force=True)          # maps built before registration
    algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}).dump(force=True)
    gm_seal.register_gm_oids()
    assert algos.DigestAlgorithm({"algorithm": "sha256"}).dump(force=True)
    assert algos.DigestAlgorithm({"algorithm": "sm3"})["algorithm"].dotted == SM3
    assert algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"})["algorithm"].dotted == SM2_SM3
    assert algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"})["algorithm"].dotted == "1.2.840.113549.1.1.11"


def test_rotating_the_sm2_seal_keeps_earlier_sm2_seals_ours_while_the_old_ca_is_kept(tmp_path):
    """As the RSA seal's rotation (README): the old CA goes into <seal-gm>/trusted/, the old key away."""
    from services.archive.gm_seal import CA_FILE, CERT_FILE, trusted_cas
    directory = tmp_path / "seal-gm"
    make_local_gm_seal(directory, NAME)
    old_file = sealed_copy(tmp_path, GmSealKey.load(directory), "old.pdf")
    (directory / "trusted").mkdir()
    os.replace(directory / CA_FILE, directory / "trusted" / "gm-ca-2026.pem")
    for name in (KEY_FILE, CERT_FILE):
        (directory / name).unlink()
    make_local_gm_seal(directory, NAME)
    new_key = GmSealKey.load(directory)
    new_file = sealed_copy(tmp_path, new_key, "new.pdf")
    assert verify_gm(old_file, trusted_cas(directory))["ours"] and verify_gm(new_file, trusted_cas(directory))["valid"]
    assert not verify_gm(old_file, new_key.ca)["ours"]       # without the retired CA: someone else's
