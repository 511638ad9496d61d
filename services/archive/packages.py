"""The hand-over package of a sealed case file: a BagIt 1.0 bag (RFC 8493,
sha256 manifests) holding the sealed PDF, every original byte for byte, and
the case file as a DA/T 48 EEP signed with the seal key; delivered as an
uncompressed tar (PDFs, scans and media do not compress).

The bag is written straight into the tar here, not with the `bagit`
library: that one changes the process's working directory (os.chdir) while
it hashes, which broke every other request under way, and concurrent
packages. Each payload file is hashed as it is copied from the blob store
and must match its blob's name, so a package never carries a corrupt blob.

A sealed file never changes, so its package is built once, on first
request, and kept under the sealed file's sha256.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from services.archive.assembly import attachment_name, compact_date, rendition_name
from services.archive.case_files import CaseFileService
from services.archive.eep import Act, Document, Record, write_eep
from services.archive.seal_keys import SealKey
from shared.blobstore import CHUNK, DIR_MODE, FILE_MODE, BlobStore
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
        self.directory.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        bound = self.case_files.bound_items(case_file)
        payload = [(f"{name}.pdf", case_file.sealed_sha256)]
        payload += [(f"originals/{attachment_name(seq, item)}", item.original_sha256)
                    for seq, (item, _first, _last) in enumerate(bound, 1)]
        renditions = self.case_files.renditions(case_file)
        payload += [(f"originals/{rendition_name(seq, renditions[item.id])}", renditions[item.id].original_sha256)
                    for seq, (item, _first, _last) in enumerate(bound, 1) if item.id in renditions]
        with tempfile.TemporaryDirectory(dir=self.directory, prefix=".bag-") as tmp:
            eep_path = Path(tmp) / "eep.xml"
            with open(eep_path, "wb") as out:
                self._eep(case_file, bound, name, out)
            partial = Path(tmp) / "bag.tar"
            manifest: list[tuple[str, str]] = []
            octets = 0
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                for path, sha in payload:
                    with self.blobs.open(sha) as fh:
                        digest, size = _add(tar, f"{name}/data/{path}", fh)
                    if digest != sha:
                        raise IOError(f"blob {sha} is corrupt on disk")
                    manifest.append((digest, f"data/{path}"))
                    octets += size
                with open(eep_path, "rb") as fh:
                    digest, size = _add(tar, f"{name}/data/{name}.eep.xml", fh)
                manifest.append((digest, f"data/{name}.eep.xml"))
                octets += size
                info = {"Source-Organization": self.archive_name, "External-Identifier": case_file.archive_number,
                        "External-Description": case_file.title, "Bag-Group-Identifier": case_file.fonds,
                        "Internal-Sender-Identifier": case_file.id,
                        "Bagging-Date": datetime.now(CHINA).date().isoformat(),
                        "Payload-Oxum": f"{octets}.{len(manifest)}", "Bag-Software-Agent": "zhifa archive"}
                tags = {"bagit.txt": "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
                        "bag-info.txt": "".join(f"{label}: {_one_line(value)}\n" for label, value in info.items()),
                        "manifest-sha256.txt": "".join(f"{d}  {_bag_path(p)}\n" for d, p in manifest)}
                tag_manifest = []
                for tag_name, text in tags.items():
                    digest, _ = _add(tar, f"{name}/{tag_name}", io.BytesIO(text.encode("utf-8")))
                    tag_manifest.append(f"{digest}  {tag_name}\n")
                _add(tar, f"{name}/tagmanifest-sha256.txt", io.BytesIO("".join(tag_manifest).encode("utf-8")))
            os.chmod(partial, FILE_MODE)
            os.replace(partial, target)

    def _eep(self, case_file, bound, name: str, out) -> None:
        """One DA/T 48 record: the sealed case file, its PDF embedded; the bound items in 附注."""
        sealed = Document(1, f"{name}.pdf", case_file.sealed_bytes, case_file.sealed_sha256, "PDF/A-3b",
                          content=self.blobs.iter_chunks(case_file.sealed_sha256), title=case_file.title)
        sequence = re.search(r"(\d+)$", case_file.archive_number)
        # 页数 as the cover counts them (content pages); the PDF's own count, with cover, contents and
        # back note, goes to 附注.
        content_pages = bound[-1][2] if bound else 0
        notes = [(f"封存的案卷 PDF {name}.pdf，SHA-256 {case_file.sealed_sha256}，共 {case_file.pages} 页"
                 f"（含封面、卷内文件目录和备考表）"), f"件数 {len(bound)}，页数 {content_pages}"]
        notes += [f"第{seq}件：{item.number or '无文号'}，{item.title}，{item.author or ''}，{compact_date(item.date)}，"
                  f"第{first}-{last}页，原件 data/originals/{attachment_name(seq, item)}"
                  f"（{item.media_type}，{item.original_bytes} 字节，SHA-256 {item.original_sha256}）"
                  for seq, (item, first, last) in enumerate(bound, 1)]
        # 立档单位 is the agency whose fonds this is (not its section); 人名 names a person: the party if it is
        # one, else the organization's legal representative.
        party = case_file.party_detail or {}
        person = case_file.party if party.get("kind") == "person" else party.get("legal_representative")
        record = Record(electronic_id=case_file.id, archive_number=case_file.archive_number,
                        year=case_file.closed_on.year, retention=case_file.retention, unit=case_file.fonds_name,
                        title=case_file.title, author=case_file.fonds_name, date=compact_date(case_file.closed_on),
                        secrecy=case_file.secrecy or "非密", documents=[sealed], fonds=case_file.fonds, fonds_name=case_file.fonds_name,
                        item_number=int(sequence.group(1)) or None if sequence else None,
                        number=case_file.decision_number, persons=person or None, pages=content_pages or None,
                        location=f"BagIt 包 data/{name}.pdf", system="zhifa archive", notes=notes)
        created = datetime.now(CHINA).replace(microsecond=0)
        sealed_at = as_utc(case_file.sealed_at).astimezone(CHINA).isoformat() if case_file.sealed_at else created.isoformat()
        write_eep(out, created_at=created, creator=self.archive_name, record=record,
                  acts=[Act("封存", sealed_at, "DA/T 70 四性检测",
                            f"案卷组卷、四性检测并以电子印章封存，档号 {case_file.archive_number}"),
                        Act("归档", created.isoformat(), None, "生成移交包（BagIt）与本电子文件封装包")],
                  private_key=self.key.private_key, certificate=self.key.certificate, signer=self.key.subject)

def _add(tar: tarfile.TarFile, arcname: str, fh: BinaryIO) -> tuple[str, int]:
    """Stream one regular file into the tar (its size first: fstat, or the buffer's), hashing it on the way."""
    size = os.fstat(fh.fileno()).st_size if not isinstance(fh, io.BytesIO) else len(fh.getbuffer())
    info = tarfile.TarInfo(arcname)
    info.size, info.mode, info.mtime = size, 0o644, int(time.time())
    hashing = _Hashing(fh)
    tar.addfile(info, hashing)
    if hashing.size != size:
        raise IOError(f"{arcname} changed size while it was packed")
    return hashing.digest.hexdigest(), size


class _Hashing:
    def __init__(self, fh: BinaryIO):
        self.fh, self.digest, self.size = fh, hashlib.sha256(), 0

    def read(self, n: int = CHUNK) -> bytes:
        data = self.fh.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


def _bag_path(path: str) -> str:
    """RFC 8493 §2.1.3: CR, LF and % in a manifest's file name are percent-encoded."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def safe_name(archive_number: str) -> str:
    """A file name from an archive number (validated on entry: letters, digits, Han, ·, -)."""
    return "".join(ch if ch.isalnum() or ch in "-·" else "_" for ch in archive_number) or "case-file"
