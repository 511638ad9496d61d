"""The hand-over package of a sealed case file: a BagIt bag (RFC 8493,
sha256 manifests, made with the `bagit` library) holding the sealed PDF,
every original byte for byte, and the case file as a DA/T 48 EEP signed
with the seal key; delivered as an uncompressed tar (PDFs, scans and media
do not compress).

A sealed file never changes, so its package is built once, on first
request, and kept under the sealed file's sha256.
"""
from __future__ import annotations

import os
import re
import shutil
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

import bagit

from services.archive.assembly import attachment_name, compact_date
from services.archive.case_files import CaseFileService
from services.archive.eep import Act, Document, Record, write_eep
from services.archive.seal_keys import SealKey
from shared.blobstore import BlobStore
from shared.dates import CHINA
from shared.db import as_utc
from shared.problems import conflict


class PackageBuilder:
    def __init__(self, blobs: BlobStore, case_files: CaseFileService, key: SealKey, directory: Path,
                 archive_name: str):
        self.blobs = blobs
        self.case_files = case_files
        self.key = key
        self.directory = Path(directory)
        self.archive_name = archive_name

    def package(self, case_file_id: str) -> tuple[Path, str]:
        """(path of the tar, download name) for a sealed case file; 409 before sealing."""
        case_file = self.case_files.get(case_file_id)
        if case_file.status != "sealed":
            raise conflict("case-file-not-sealed", "案卷尚未封存", "案卷封存后才能生成移交包。")
        name = safe_name(case_file.archive_number)
        target = self.directory / f"{case_file.sealed_sha256}.tar"
        if not target.exists():
            self._build(case_file, name, target)
        return target, f"{name}.bag.tar"

    def _build(self, case_file, name: str, target: Path) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        bound = self.case_files.bound_items(case_file)
        with tempfile.TemporaryDirectory(dir=self.directory, prefix=".bag-") as tmp:
            bag_dir = Path(tmp) / name
            (bag_dir / "originals").mkdir(parents=True)
            self._place(case_file.sealed_sha256, bag_dir / f"{name}.pdf")
            for seq, (item, _first, _last) in enumerate(bound, 1):
                self._place(item.original_sha256, bag_dir / "originals" / attachment_name(seq, item))
            with open(bag_dir / f"{name}.eep.xml", "wb") as out:
                self._eep(case_file, bound, name, out)
            bagit.make_bag(str(bag_dir), {
                "Source-Organization": self.archive_name, "External-Identifier": case_file.archive_number,
                "External-Description": case_file.title, "Bag-Group-Identifier": case_file.fonds,
                "Internal-Sender-Identifier": case_file.id, "Payload-Oxum-Note": "sealed PDF, originals, DA/T 48 EEP",
            }, checksums=["sha256"])
            partial = Path(tmp) / "bag.tar"
            with tarfile.open(partial, "w") as tar:
                tar.add(bag_dir, arcname=name)
            os.chmod(partial, 0o444)
            os.replace(partial, target)

    def _place(self, sha: str, path: Path) -> None:
        """A blob into the bag: a hard link where the file system allows, else a copy."""
        try:
            os.link(self.blobs.path(sha), path)
        except OSError:
            shutil.copyfile(self.blobs.path(sha), path)

    def _eep(self, case_file, bound, name: str, out) -> None:
        """One DA/T 48 record: the sealed case file, its PDF embedded; the bound items in 附注."""
        sealed = Document(1, f"{name}.pdf", case_file.sealed_bytes, case_file.sealed_sha256, "PDF/A-3b",
                          content=self.blobs.iter_chunks(case_file.sealed_sha256), title=case_file.title)
        sequence = re.search(r"(\d+)$", case_file.archive_number)
        notes = [f"封存的案卷 PDF {name}.pdf，SHA-256 {case_file.sealed_sha256}", f"件数 {len(bound)}"]
        notes += [f"第{seq}件：{item.number or '无文号'}，{item.title}，{item.author or ''}，{compact_date(item.date)}，"
                  f"第{first}-{last}页，原件 data/originals/{attachment_name(seq, item)}"
                  f"（{item.media_type}，{item.original_bytes} 字节，SHA-256 {item.original_sha256}）"
                  for seq, (item, first, last) in enumerate(bound, 1)]
        record = Record(electronic_id=case_file.id, archive_number=case_file.archive_number,
                        year=case_file.closed_on.year, retention=case_file.retention, unit=case_file.handling_unit,
                        title=case_file.title, author=case_file.fonds_name, date=compact_date(case_file.closed_on),
                        secrecy="非密", documents=[sealed], fonds=case_file.fonds, fonds_name=case_file.fonds_name,
                        item_number=int(sequence.group(1)) or None if sequence else None,
                        number=case_file.decision_number, persons=case_file.party, pages=case_file.pages,
                        location=f"BagIt 包 data/{name}.pdf", system="zhifa archive", notes=notes)
        created = datetime.now(CHINA).replace(microsecond=0)
        sealed_at = as_utc(case_file.sealed_at).astimezone(CHINA).isoformat() if case_file.sealed_at else created.isoformat()
        write_eep(out, created_at=created, creator=self.archive_name, record=record,
                  acts=[Act("封存", sealed_at, "DA/T 70 四性检测",
                            f"案卷组卷、四性检测并以电子印章封存，档号 {case_file.archive_number}"),
                        Act("归档", created.isoformat(), None, "生成移交包（BagIt）与本电子文件封装包")],
                  private_key=self.key.private_key, certificate=self.key.certificate, signer=self.key.subject)

def safe_name(archive_number: str) -> str:
    """A file name from an archive number (validated on entry: letters, digits, Han, ·, -)."""
    return "".join(ch if ch.isalnum() or ch in "-·" else "_" for ch in archive_number) or "case-file"
