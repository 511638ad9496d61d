"""The archive's seal key: a PKCS#12 file from configuration
(ZHIFA_SEAL_PKCS12, ZHIFA_SEAL_PASSWORD), or, by default, a local CA and a
seal certificate made on first run under <data>/archive/seal (mode 0700,
key file 0600). Sealing signs with it; verification trusts its CA.

The local CA's private key signs the seal certificate once and is then
discarded, never written beside the seal key: whoever copies the seal
directory cannot issue another certificate that verification would trust.
Renewing means a new local CA (or an operator's PKCS#12, whose CA key
never comes to this server at all).

Rotation: the certificates (PEM) in <seal dir>/trusted/ are trusted too, in
either mode, so the CA of a retired seal moved there keeps the seals made
with it "ours" (README: "Rotating the seal key").
"""
from __future__ import annotations

import fcntl
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from shared.files import write_file

log = logging.getLogger("zhifa.archive.seal_keys")
SEAL_FILE = "seal.p12"
OLD_CA_KEY = "ca.key.pem"     # written beside the seal by earlier versions
CA_FILE = "ca.pem"
TRUSTED_DIR = "trusted"       # CA certificates of retired seals, still trusted by verification


@dataclass
class SealKey:
    pkcs12_path: Path
    password: bytes | None
    certificate: x509.Certificate            # the seal certificate
    private_key: object                      # cryptography private key (signs the EEP too)
    trust_roots: list[x509.Certificate]      # what verification accepts as "ours"

    def signer(self):
        from pyhanko.sign import signers
        return signers.SimpleSigner.load_pkcs12(str(self.pkcs12_path), passphrase=self.password)

    def trust_roots_asn1(self) -> list[asn1_x509.Certificate]:
        return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in self.trust_roots]

    @property
    def subject(self) -> str:
        names = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return names[0].value if names else self.certificate.subject.rfc4514_string()


def load(pkcs12_path: Path | None, password: str | None, seal_dir: Path, archive_name: str) -> SealKey:
    key = _load_current(pkcs12_path, password, Path(seal_dir), archive_name)
    retired = retired_roots(Path(seal_dir))
    if retired:
        log.info("verification also trusts %d retired seal CA(s) in %s", len(retired), Path(seal_dir) / TRUSTED_DIR)
    key.trust_roots += [c for c in retired if c not in key.trust_roots]
    return key


def retired_roots(seal_dir: Path) -> list[x509.Certificate]:
    directory = seal_dir / TRUSTED_DIR
    if not directory.is_dir():
        return []
    return [cert for path in sorted(directory.glob("*.pem")) for cert in x509.load_pem_x509_certificates(path.read_bytes())]


def _load_current(pkcs12_path: Path | None, password: str | None, seal_dir: Path, archive_name: str) -> SealKey:
    if pkcs12_path is not None:
        return _from_pkcs12(Path(pkcs12_path), password.encode() if password else None, own_ca=None)
    seal_dir = Path(seal_dir)
    seal_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(seal_dir, 0o700)
    with open(seal_dir / ".lock", "w") as lock:      # a server and its workers may start together
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (seal_dir / SEAL_FILE).exists():
            make_local_seal(seal_dir, archive_name)
    if (seal_dir / OLD_CA_KEY).exists():
        log.warning("the local CA's private key %s sits beside the seal key: move it off this server "
                    "(it is not needed to seal or verify)", OLD_CA_KEY)
    ca = x509.load_pem_x509_certificate((seal_dir / CA_FILE).read_bytes())
    return _from_pkcs12(seal_dir / SEAL_FILE, None, own_ca=ca)


def _from_pkcs12(path: Path, password: bytes | None, own_ca: x509.Certificate | None) -> SealKey:
    key, cert, extra = pkcs12.load_key_and_certificates(path.read_bytes(), password)
    if key is None or cert is None:
        raise ValueError(f"{path}: the PKCS#12 file holds no key and certificate")
    # Trust the CA certificates the file carries; a file without any: the seal certificate itself.
    roots = [own_ca] if own_ca is not None else [c for c in extra or [] if _is_ca(c)] or [cert]
    return SealKey(path, password, cert, key, roots)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def make_local_seal(seal_dir: Path, archive_name: str) -> None:
    """A local CA and a seal certificate it issues, for a single-machine deployment; the CA key is discarded."""
    now = datetime.now(timezone.utc) - timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, archive_name),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{archive_name}电子档案根证书")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=365 * 30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    seal_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    seal_name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, archive_name),
                           x509.NameAttribute(NameOID.COMMON_NAME, f"{archive_name}电子档案封存章")])
    seal = (x509.CertificateBuilder().subject_name(seal_name).issuer_name(ca_name).public_key(seal_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(seal_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    p12 = pkcs12.serialize_key_and_certificates(b"seal", seal_key, seal, [ca], serialization.NoEncryption())
    # ca_key goes out of scope here: only the seal key and the chain stay on the server.
    write_file(seal_dir / CA_FILE, ca.public_bytes(serialization.Encoding.PEM), mode=0o644)
    write_file(seal_dir / SEAL_FILE, p12, mode=0o600)   # last: its presence means the set is complete
