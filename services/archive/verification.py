"""Checking any copy of a sealed file: is the seal's signature valid and
ours, are the signed bytes intact, was anything added after sealing, when
was it sealed, and does the ledger know this exact file.

Uses pyHanko's validation side only (never sealing.py); trusts exactly the
archive's seal CA (seal_keys), fetches nothing from the network.
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pikepdf
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from services.archive.assembly import read_xmp_property
from services.archive.ledger import LedgerBook
from shared.dates import CHINA

log = logging.getLogger("zhifa.archive.verification")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Verifier:
    def __init__(self, trust_roots: list, ledger: LedgerBook):
        self.trust_roots = trust_roots      # asn1crypto certificates
        self.ledger = ledger

    def verify(self, path: Path) -> dict:
        sha = file_sha256(path)
        known = self.ledger.find(sha)
        result = {"valid": False, "intact": False, "modified_after_seal": None, "ours": False,
                  "signed_by": None, "sealed_at": None, "timestamp": None, "sha256": sha,
                  "case_file_id": known["case_file_id"] if known else None,
                  "archive_number": known["archive_number"] if known else None,
                  "ledger": {"found": known is not None, "sequence": known["sequence"] if known else None},
                  "findings": []}
        findings = result["findings"]
        try:
            with open(path, "rb") as fh:
                reader = PdfFileReader(fh, strict=False)
                signatures = reader.embedded_signatures
                if not signatures:
                    findings.append("文件中没有电子印章（数字签名），不是本档案馆封存的文件。")
                    return result
                seal = signatures[0]
                context = ValidationContext(trust_roots=self.trust_roots, allow_fetching=False,
                                            revocation_mode="soft-fail")
                status = validate_pdf_signature(seal, context)
                coverage = status.coverage
                docmdp_ok = status.docmdp_ok
                later_signatures = len(signatures) > 1
        except Exception as exc:   # pyHanko raises many kinds for a damaged file
            log.info("verification could not read the file: %s: %s", type(exc).__name__, exc)
            findings.append("文件已损坏或被篡改，无法读取电子印章。")
            return result
        signer = status.signing_cert.subject.native.get("common_name") if status.signing_cert else None
        when = status.timestamp_validity.timestamp if status.timestamp_validity else status.signer_reported_dt
        modified = coverage != SignatureCoverageLevel.ENTIRE_FILE or later_signatures or docmdp_ok is False
        result.update(
            intact=bool(status.intact), ours=bool(status.intact and status.valid and status.trusted),
            modified_after_seal=modified, signed_by=signer,
            sealed_at=when.astimezone(CHINA).isoformat() if when else None,
            timestamp=({"present": True, "intact": bool(status.timestamp_validity.intact),
                        "valid": bool(status.timestamp_validity.valid)} if status.timestamp_validity
                       else {"present": False}))
        result["valid"] = result["ours"]
        if not status.intact:
            findings.append("签名所覆盖的内容已被改动：文件不是封存时的原样。")
        elif not status.valid:
            findings.append("签名值无效。")
        elif not status.trusted:
            findings.append(f"签名有效，但签名证书（{signer}）不是本档案馆的封存证书：不是本档案馆封存的文件。")
        if modified and status.intact:
            findings.append("封存之后文件被追加了修改（增量更新），封存时的版本本身未被改动。")
        if known is None:
            findings.append("档案台账中没有与本文件逐字节相同的封存记录。")
        if not result["archive_number"] and status.intact:
            result["archive_number"] = _archive_number(path)
        if not findings:
            findings.append("电子印章有效，文件自封存以来未被改动，档案台账中有该文件的封存记录。")
        return result


def _archive_number(path: Path) -> str | None:
    try:
        with pikepdf.open(path) as pdf:
            return read_xmp_property(pdf, "ArchiveNumber")
    except pikepdf.PdfError:
        return None
