"""The hand-over package of a sealed case file: a BagIt 1.0 bag (RFC 8493,
sha256 manifests) holding the sealed PDF, every original byte for byte, and
the case file as a DA/T 48 EEP signed with the seal key (and one EEP per
件 with its DA/T 46 elements and its original, data/eep/NNN.eep.xml); delivered as an
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
import tarfile
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

from services.archive.assembly import attachment_name, compact_date, rendition_name
from services.archive.case_files import CaseFileService
from services.archive.eep import Act, Document, case_record, item_eep_name, item_record, write_eep
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
        # Every blob's file at hand (temp copies fetched side by side when the blobs are on S3).
        with self.blobs.local_copies(sha for _, sha in payload) as files, \
                tempfile.TemporaryDirectory(dir=self.directory, prefix=".bag-") as tmp:
            eep_path = Path(tmp) / "eep.xml"
            with open(eep_path, "wb") as out:
                self._eep(case_file, bound, name, out, files)
            partial = Path(tmp) / "bag.tar"
            manifest: list[tuple[str, str]] = []
            octets = 0
            with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
                for path, sha in payload:
                    with open(files[sha], "rb") as fh:
                        digest, size = _add(tar, f"{name}/data/{path}", fh)
                    if digest != sha:
                        raise IOError(f"blob {sha} is corrupt on disk")
                    manifest.append((digest, f"data/{path}"))
                    octets += size
                with open(eep_path, "rb") as fh:
                    digest, size = _add(tar, f"{name}/data/{name}.eep.xml", fh)
                manifest.append((digest, f"data/{name}.eep.xml"))
                octets += size
                # One DA/T 48 EEP per 件 (its DA/T 46 elements, its original inside), written one at a time.
                for seq, (item, first, last) in enumerate(bound, 1):
                    path = Path(tmp) / "item.eep.xml"
                    with open(path, "wb") as out:
                        self._item_eep(case_file, seq, item, first, last, renditions.get(item.id), out, files)
                    with open(path, "rb") as fh:
                        digest, size = _add(tar, f"{name}/data/{item_eep_name(seq)}", fh)
                    manifest.append((digest, f"data/{item_eep_name(seq)}"))
                    octets += size
                    path.unlink()
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

    def _eep(self, case_file, bound, name: str, out, files: dict) -> None:
        """The 卷 as a DA/T 48 record (eep.case_record): the sealed PDF embedded, related to each 件."""
        sealed = Document(1, f"{name}.pdf", case_file.sealed_bytes, case_file.sealed_sha256, "PDF/A-3b",
                          content=_chunks(files[case_file.sealed_sha256]), title=case_file.title)
        self._write(out, case_file, case_record(case_file, name, sealed, bound, compact_date(case_file.closed_on)))

    def _item_eep(self, case_file, seq: int, item, first: int, last: int, rendition, out, files: dict) -> None:
        """One 件 as a DA/T 48 record (eep.item_record): its original encapsulated, and the generator's PDF
        beside a signed scan."""
        documents = [Document(1, attachment_name(seq, item), item.original_bytes, item.original_sha256,
                              item.format.upper(), content=_chunks(files[item.original_sha256]),
                              title=item.title, main=True)]
        if rendition is not None:
            documents.append(Document(2, rendition_name(seq, rendition), rendition.original_bytes,
                                      rendition.original_sha256, "PDF",
                                      content=_chunks(files[rendition.original_sha256]),
                                      title=f"{rendition.title}（电子文书）", main=False))
        self._write(out, case_file, item_record(case_file, item, first, last, seq, compact_date(item.date), documents))

    def _write(self, out, case_file, record) -> None:
        created = datetime.now(CHINA).replace(microsecond=0)
        sealed_at = as_utc(case_file.sealed_at).astimezone(CHINA).isoformat() if case_file.sealed_at else created.isoformat()
        write_eep(out, created_at=created, creator=self.archive_name, record=record,
                  acts=[Act("封存", sealed_at, "DA/T 70 四性检测",
                            f"案卷组卷、四性检测并以电子印章封存，档号 {case_file.archive_number}"),
                        Act("归档", created.isoformat(), None, "生成移交包（BagIt）与本电子文件封装包")],
                  private_key=self.key.private_key, certificate=self.key.certificate, signer=self.key.subject)


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        yield from iter(lambda: fh.read(CHUNK), b"")


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
