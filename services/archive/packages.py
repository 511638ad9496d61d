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
import shutil
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

import bagit

from services.archive.assembly import attachment_name, compact_date
from services.archive.case_files import CaseFileService
from services.archive.eep import Document, Entity, write_eep
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
        sealed = Document(1, f"{name}.pdf", case_file.sealed_bytes, case_file.sealed_sha256, "PDF/A-3b",
                          content=self.blobs.iter_chunks(case_file.sealed_sha256))
        record = Entity("案卷", case_file.title, case_file.decision_number, case_file.fonds_name,
                        compact_date(case_file.closed_on), case_file.pages, None, [sealed], [
                            ("档号", case_file.archive_number), ("全宗号", case_file.fonds),
                            ("全宗名称", case_file.fonds_name), ("年度", case_file.closed_on.year),
                            ("保管期限", case_file.retention), ("件数", len(bound)), ("立档单位名称", case_file.handling_unit),
                            ("人名", case_file.party)])
        items = [Entity("文件", item.title, item.number, item.author, compact_date(item.date), item.pages,
                        f"{first}-{last}" if first != last else str(first),
                        [Document(seq, attachment_name(seq, item), item.original_bytes, item.original_sha256,
                                  item.media_type)],
                        [("件号", seq)])
                 for seq, (item, first, last) in enumerate(bound, 1)]
        created = datetime.now(CHINA).replace(microsecond=0)
        write_eep(out, created_at=created, creator=self.archive_name, entities=[record, *items],
                  business=[("业务状态", "归档"), ("业务行为", "封存"),
                            ("行为时间", as_utc(case_file.sealed_at).astimezone(CHINA).isoformat() if case_file.sealed_at else ""),
                            ("行为依据", "DA/T 70 四性检测"), ("行为描述", f"案卷组卷、四性检测并以电子印章封存，档号 {case_file.archive_number}")],
                  private_key=self.key.private_key, certificate=self.key.certificate, signer=self.key.subject)


def safe_name(archive_number: str) -> str:
    """A file name from an archive number (validated on entry: letters, digits, Han, ·, -)."""
    return "".join(ch if ch.isalnum() or ch in "-·" else "_" for ch in archive_number) or "case-file"
