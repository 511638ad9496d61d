"""Content-addressed file store: a blob's name is its SHA-256.

Writes go through shared.files.atomic_write (temp file, fsync, rename), so a
reader never sees a half-written file and a crash leaves at most a stray
temp file (never a wrong blob). Large files are written as a stream, hashed
as they go: a 2 GB video never sits in memory.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from shared.files import atomic_write

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024


class BlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        return self.put_stream([data])[0]

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store the concatenated chunks; returns (sha256, size in bytes)."""
        digest, size = hashlib.sha256(), 0
        with atomic_write(self.root / "incoming", 0o444) as out:   # the temp file lands in root
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            name = digest.hexdigest()
            out.target = self.path(name)
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
