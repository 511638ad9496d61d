"""A 国密 (SM2/SM3) seal beside the RSA one: the key, the signer pyHanko
drives, and its own verification.

What a PDF signature with SM2 needs, and what this does:
- CMS SignedData (RFC 5652) in the signature's /Contents, as for RSA
  (ETSI.CAdES.detached), with the GM algorithm identifiers of GM/T 0006 /
  GB/T 35275: digest SM3 (1.2.156.10197.1.401), signature SM2-with-SM3
  (1.2.156.10197.1.501), keys on the curve sm2p256v1 (1.2.156.10197.1.301),
  the signer's identity the default distinguishing ID "1234567812345678"
  (GB/T 35276). asn1crypto (which pyHanko builds the CMS with) does not know
  these OIDs: `register_gm_oids` adds them to its maps.
- The signature itself: `cryptography` has SM3 but no SM2, and OpenSSL 3.0's
  CMS cannot sign with SM2 ("illegal zero content"); OpenSSL 3.0's EVP layer
  can (`openssl pkeyutl -sign -rawin -digest sm3 -pkeyopt distid:…`), so the
  raw signature of the signed attributes is made by the system's openssl
  (Debian's openssl package; no PyPI package needed) and pyHanko assembles
  the rest exactly as for the RSA seal (certification, DocMDP no changes,
  the visible stamp).
- Verification: pyHanko's validator (pyhanko-certvalidator, cryptography)
  cannot check SM2, and neither can poppler's pdfsig ("Unknown Validation
  Failure"), Adobe Reader or pdf.js: `verify_gm` checks it here: the SM3
  digest of the /ByteRange against the signed messageDigest, the SM2
  signature over the signed attributes with the signer's certificate, that
  certificate under the archive's GM CA, and whether the signed range is the
  whole file (else modified after sealing).
Not the GB/T 38540 SES_Signature structure (电子印章 in the 国家电子印章
系统 sense): that needs an 印章 (SES_Seal) issued by a 电子印章制作系统 and
its format in the PDF (OFD is its home); a PAdES-shaped SM2 signature is
what a PDF reader with GM support (e.g. the GM editions of domestic readers)
checks.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from asn1crypto import algos, cms, keys, pem
from asn1crypto import x509 as ax509
from pyhanko.pdf_utils.generic import parse_pdf_date
from pyhanko.sign import signers
from pyhanko_certvalidator.registry import SimpleCertificateStore

from shared.dates import CHINA
from shared.files import digest_ranges

DIST_ID = "1234567812345678"        # GB/T 35276 default SM2 signer ID
SM3, SM2_SM3, SM2_CURVE = "1.2.156.10197.1.401", "1.2.156.10197.1.501", "1.2.156.10197.1.301"
MAX_CONTENTS = 64 * 1024            # bytes of CMS a seal of ours can need; more is not ours
CA_FILE, KEY_FILE, CERT_FILE = "gm-ca.pem", "gm-seal.key", "gm-seal.pem"


def register_gm_oids() -> None:
    """Teach asn1crypto the GM identifiers (idempotent)."""
    if algos.DigestAlgorithmId._map.get(SM3) == "sm3":
        return
    for cls, oid, name in ((algos.DigestAlgorithmId, SM3, "sm3"), (algos.SignedDigestAlgorithmId, SM2_SM3, "sm2_sm3")):
        cls._map[oid] = name
        # asn1crypto builds the reverse map once per class (and never again): extend it if it is built.
        if cls._reverse_map is not None:
            cls._reverse_map[name] = oid
    try:
        keys.NamedCurve.register("sm2p256v1", SM2_CURVE, 32)
    except ValueError:
        pass


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", *args], input=data, capture_output=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {result.stderr.decode('utf-8', 'replace')[:300]}")
    return result.stdout


def make_local_gm_seal(directory: Path, archive_name: str) -> None:
    """An SM2 seal key and its certificate (SM2-with-SM3) under a local SM2 CA
    made for the purpose; the CA's key signs once and is discarded, as for the
    RSA seal (seal_keys.py). Files 0600/0644 in a 0700 directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    old = os.umask(0o077)
    try:
        with tempfile.TemporaryDirectory(dir=directory, prefix=".gm-") as tmp:
            t = Path(tmp)
            for name in ("ca.key", "seal.key"):
                _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:SM2", "-out", str(t / name))
            _openssl("req", "-new", "-x509", "-utf8", "-key", str(t / "ca.key"), "-sm3", "-sigopt", f"distid:{DIST_ID}",
                     "-subj", f"/O={archive_name}/CN={archive_name}国密电子印章根证书", "-days", "7300",
                     "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign",
                     "-out", str(t / "ca.pem"))
            _openssl("req", "-new", "-utf8", "-key", str(t / "seal.key"), "-sm3", "-sigopt", f"distid:{DIST_ID}",
                     "-subj", f"/O={archive_name}/CN={archive_name}封存章（SM2）", "-out", str(t / "seal.csr"))
            (t / "ext").write_text("keyUsage=critical,digitalSignature,nonRepudiation\n")
            _openssl("x509", "-req", "-in", str(t / "seal.csr"), "-CA", str(t / "ca.pem"), "-CAkey", str(t / "ca.key"),
                     "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-sm3", "-sigopt", f"distid:{DIST_ID}",
                     "-vfyopt", f"distid:{DIST_ID}", "-days", "3650", "-extfile", str(t / "ext"), "-out", str(t / "seal.pem"))
            os.replace(t / "seal.key", directory / KEY_FILE)
            os.replace(t / "seal.pem", directory / CERT_FILE)
            os.replace(t / "ca.pem", directory / CA_FILE)
            # ca.key goes with the temporary directory
        os.chmod(directory / CERT_FILE, 0o644)
        os.chmod(directory / CA_FILE, 0o644)
    finally:
        os.umask(old)


def _der_cert(pem: Path) -> ax509.Certificate:
    return ax509.Certificate.load(_openssl("x509", "-in", str(pem), "-outform", "DER"))


@dataclass
class GmSealKey:
    """The SM2 seal key as the Sealer uses a key: `signer()`, `subject`, and the digest it signs with."""
    key_path: Path
    certificate: ax509.Certificate
    ca: ax509.Certificate
    md_algorithm: str = "sm3"

    @classmethod
    def load(cls, directory: Path) -> "GmSealKey":
        register_gm_oids()
        directory = Path(directory)
        return cls(directory / KEY_FILE, _der_cert(directory / CERT_FILE), _der_cert(directory / CA_FILE))

    @property
    def subject(self) -> str:
        return self.certificate.subject.native.get("common_name", "")

    def signer(self) -> "SM2Signer":
        return SM2Signer(self)


class SM2Signer(signers.Signer):
    """pyHanko's Signer with the raw SM2 signature made by openssl (see the module's note)."""

    def __init__(self, key: GmSealKey):
        register_gm_oids()
        self.key = key
        super().__init__(signing_cert=key.certificate,
                         cert_registry=SimpleCertificateStore.from_certs([key.certificate, key.ca]),
                         signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sm2_sm3"}))

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sm3":
            raise ValueError("an SM2 seal signs SM3 digests only")
        if dry_run:
            return bytes(72)      # the largest DER SM2 signature
        return _openssl("pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", str(self.key.key_path),
                        "-pkeyopt", f"distid:{DIST_ID}", data=data)


def _sm2_verify(cert: ax509.Certificate, data: bytes, signature: bytes) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "cert.der").write_bytes(cert.dump())
        (t / "sig").write_bytes(signature)
        (t / "pub.pem").write_bytes(_openssl("x509", "-inform", "DER", "-in", str(t / "cert.der"), "-pubkey", "-noout"))
        result = subprocess.run(["openssl", "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey",
                                 str(t / "pub.pem"), "-sigfile", str(t / "sig"), "-pkeyopt", f"distid:{DIST_ID}"],
                                input=data, capture_output=True, timeout=30)
        return result.returncode == 0 and b"Verified Successfully" in result.stdout


def _issued_by(cert: ax509.Certificate, ca: ax509.Certificate) -> bool:
    """The certificate's SM2 signature checks under the CA's key."""
    if cert.issuer != ca.subject:
        return False
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "ca.der").write_bytes(ca.dump())
        (t / "c.der").write_bytes(cert.dump())
        ca_pem = _openssl("x509", "-inform", "DER", "-in", str(t / "ca.der"))
        cert_pem = _openssl("x509", "-inform", "DER", "-in", str(t / "c.der"))
        (t / "ca.pem").write_bytes(ca_pem)
        (t / "c.pem").write_bytes(cert_pem)
        result = subprocess.run(["openssl", "verify", "-CAfile", str(t / "ca.pem"), "-vfyopt", f"distid:{DIST_ID}",
                                 str(t / "c.pem")], capture_output=True, timeout=30)
        return result.returncode == 0


def verify_gm(path: Path, ca: ax509.Certificate | list[ax509.Certificate]) -> dict:
    """Check the first signature of a file sealed with the SM2 seal:
    {valid, intact, ours, modified_after_seal, algorithm, signer, findings}.
    `valid` only when the signature checks, the signed range is the whole
    file and the signer is the archive's GM seal."""
    register_gm_oids()
    findings: list[str] = []
    size = Path(path).stat().st_size
    with pikepdf.open(path) as pdf:
        fields = pdf.Root.get("/AcroForm", {}).get("/Fields", [])
        sig = next((f.V for f in fields if f.get("/FT") == "/Sig" and "/V" in f), None)
        if sig is None:
            return {"valid": False, "intact": False, "ours": False, "modified_after_seal": False, "algorithm": None,
                    "signer": None, "findings": ["文件没有电子签名。"]}
        byte_range = [int(v) for v in sig.ByteRange]
        contents = bytes(sig.Contents)
        moment = str(sig.get("/M", "")) or None      # PAdES: the signing time is the signature's /M
    if len(contents) > MAX_CONTENTS or len(byte_range) != 4 or byte_range[0] != 0 or \
            byte_range[0] + byte_range[1] > byte_range[2] or byte_range[2] + byte_range[3] > size:
        return {"valid": False, "intact": False, "ours": False, "modified_after_seal": False, "algorithm": None,
                "signer": None, "findings": ["签名的字节范围或签名值不合规范。"]}
    digest = digest_ranges(path, [(byte_range[0], byte_range[1]), (byte_range[2], byte_range[3])],
                           hashlib.new("sm3"))
    try:
        signed_data = cms.ContentInfo.load(contents.rstrip(b"\0"))["content"]
        signer_info = signed_data["signer_infos"][0]
        algorithm = signer_info["signature_algorithm"]["algorithm"].dotted
        attrs = {a["type"].native: a["values"][0].native for a in signer_info["signed_attrs"]}
        sid = signer_info["sid"].chosen
        cert = next(c.chosen for c in signed_data["certificates"]
                    if c.chosen.issuer == sid["issuer"] and c.chosen.serial_number == sid["serial_number"].native)
        gm = algorithm == SM2_SM3 and signer_info["digest_algorithm"]["algorithm"].dotted == SM3
        digest_ok = gm and attrs.get("message_digest") == digest.digest()
        signature_ok = digest_ok and _sm2_verify(cert, signer_info["signed_attrs"].untag().dump(force=True),
                                                 signer_info["signature"].native)
    except (ValueError, KeyError, TypeError, StopIteration, RuntimeError):
        return {"valid": False, "intact": False, "ours": False, "modified_after_seal": False, "algorithm": None,
                "signer": None, "findings": ["签名数据无法解析。"]}
    if not gm:
        findings.append("签名不是 SM2/SM3 国密签名。")
    elif not digest_ok:
        findings.append("签名覆盖的内容已被改动（SM3 摘要不符）。")
    elif not signature_ok:
        findings.append("SM2 签名值验证未通过。")
    # the current CA and those of retired SM2 seals (<seal-gm>/trusted/, as the RSA seal's rotation)
    ours = signature_ok and any(_issued_by(cert, one) for one in (ca if isinstance(ca, list) else [ca]))
    if signature_ok and not ours:
        findings.append("签名有效，但签名证书不是本档案室国密电子印章证书。")
    whole = byte_range[2] + byte_range[3] == size
    if signature_ok and not whole:
        findings.append("封存后文件又被追加修改：本副本不是封存时的文件。")
    signed_at = attrs.get("signing_time")
    if signed_at is None and moment:
        try:
            signed_at = parse_pdf_date(moment, strict=False)
        except (ValueError, TypeError):
            signed_at = None
    return {"valid": bool(signature_ok and ours and whole), "intact": bool(signature_ok), "ours": bool(ours),
            "signed_at": signed_at.astimezone(CHINA).isoformat() if signed_at else None, "when": signed_at,
            "signed_end": byte_range[2] + byte_range[3],
            "modified_after_seal": bool(signature_ok and not whole), "algorithm": "SM2-with-SM3" if gm else algorithm,
            "signer": cert.subject.native.get("common_name"), "findings": findings or ["国密电子印章有效，文件自封存后未被改动。"]}


# -- the seal profile --------------------------------------------------------------

GM_DIR = "seal-gm"
PROFILES = ("rsa", "sm2")


def load_or_make(directory: Path, archive_name: str) -> GmSealKey:
    """The archive's SM2 seal, made on first use (like the RSA seal without a PKCS#12)."""
    if not (Path(directory) / KEY_FILE).exists():
        make_local_gm_seal(directory, archive_name)
    return GmSealKey.load(directory)


def trusted_cas(directory: Path) -> list[ax509.Certificate]:
    """The SM2 CAs verification accepts as ours: the current seal's CA, when there is one, and the
    retired ones kept in <directory>/trusted/*.pem after a rotation."""
    register_gm_oids()
    directory = Path(directory)
    cas = [_der_cert(directory / CA_FILE)] if (directory / CA_FILE).exists() else []
    for path in sorted((directory / "trusted").glob("*.pem")) if (directory / "trusted").is_dir() else []:
        for block in pem.unarmor(path.read_bytes(), multiple=True):
            cas.append(ax509.Certificate.load(block[2]))
    return cas


def gm_signed(path: Path) -> bool:
    """Whether the file's first signature is an SM2 one (cheap: one dictionary and its /Contents)."""
    register_gm_oids()
    try:
        with pikepdf.open(path) as pdf:
            fields = pdf.Root.get("/AcroForm", {}).get("/Fields", [])
            sig = next((f.V for f in fields if f.get("/FT") == "/Sig" and "/V" in f), None)
            if sig is None:
                return False
            contents = bytes(sig.Contents)
        if len(contents) > MAX_CONTENTS:
            return False
        info = cms.ContentInfo.load(contents.rstrip(b"\0"))["content"]["signer_infos"][0]
        return info["signature_algorithm"]["algorithm"].dotted == SM2_SM3
    except Exception:      # anything unreadable is the RSA verifier's to report
        return False
