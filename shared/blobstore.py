"""Content-addressed file store: a blob's name is its SHA-256.

Writes go through shared.files.atomic_write (temp file, fsync, rename), so a
reader never sees a half-written file and a crash leaves at most a stray
temp file (never a wrong blob). Large files are written as a stream, hashed
as they go: a 2 GB video never sits in memory.

Blobs hold unredacted personal data: files are 0400 and directories 0700,
readable by the service's own user only. `sweep()` removes temp files and
work directories (`.tmp-*`, `.seal-*`) a killed process left in the root.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from shared.files import atomic_write

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
FILE_MODE, DIR_MODE = 0o400, 0o700
# Untouched this long, a temp file or work directory has no live writer (jobs end within 600 s).
STALE_SECONDS = 15 * 60
log = logging.getLogger("zhifa.blobstore")


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        os.chmod(self.root, DIR_MODE)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        return self.put_stream([data])[0]

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store the concatenated chunks; returns (sha256, size in bytes)."""
        digest, size = hashlib.sha256(), 0
        with atomic_write(self.root / "incoming", FILE_MODE) as out:   # the temp file lands in root
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            name = digest.hexdigest()
            out.target = self.path(name)
            self.make_dirs(out.target)
            if out.target.exists():
                out.discard()
        return name, size

    def put_file(self, path: Path | str) -> tuple[str, int]:
        """Copy a file (e.g. an upload spooled to disk) into the store; returns (sha256, size)."""
        with open(path, "rb") as fh:
            return self.put_stream(iter(lambda: fh.read(CHUNK), b""))

    def get(self, sha256: str) -> bytes:
        data = self.path(sha256).read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IOError(f"blob {sha256} is corrupt on disk")
        return data

    def open(self, sha256: str) -> BinaryIO:
        """The blob for streaming out (check it with `verify` where integrity matters)."""
        return open(self.path(sha256), "rb")

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        with self.open(sha256) as fh:
            yield from iter(lambda: fh.read(CHUNK), b"")

    def verify(self, sha256: str) -> bool:
        """Whether the stored file still hashes to its name, read as a stream."""
        digest = hashlib.sha256()
        for chunk in self.iter_chunks(sha256):
            digest.update(chunk)
        return digest.hexdigest() == sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def make_dirs(self, target: Path) -> None:
        """The two fan-out directories of a blob's path, private (mkdir's mode is masked by the umask)."""
        for directory in (target.parent.parent, target.parent):
            if not directory.is_dir():
                directory.mkdir(mode=DIR_MODE, exist_ok=True)
                os.chmod(directory, DIR_MODE)

    def sweep(self, stale_seconds: float = STALE_SECONDS) -> int:
        """Remove temp files and work directories in the root nobody has written for stale_seconds."""
        removed, cutoff = 0, time.time() - stale_seconds
        for entry in self.root.iterdir():
            if not entry.name.startswith((".tmp-", ".seal-")):
                continue
            try:
                newest = max([entry.lstat().st_mtime] + [p.lstat().st_mtime for p in entry.rglob("*")]
                             if entry.is_dir() else [entry.lstat().st_mtime])
                if newest >= cutoff:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
                removed += 1
            except FileNotFoundError:
                continue
        if removed:
            log.info("swept %d stale temp entries from the blob store", removed)
        return removed
