"""Content-addressed blob storage: a blob's name is its SHA-256. One interface,
two backends:

- `LocalBlobStore` (the default): files under the service's data directory.
  Writes go through shared.files.atomic_write (temp file, fsync, rename), so
  a reader never sees a half-written file and a crash leaves at most a stray
  temp file (never a wrong blob). Blobs hold unredacted personal data: files
  are 0400 and directories 0700, readable by the service's own user only.
- `S3BlobStore` (when ZHIFA_S3_BUCKET is set): S3-compatible object storage
  shared by every host of a service. An object appears only complete (a PUT,
  or a multipart upload's completion, is atomic); a killed upload leaves an
  invisible incomplete multipart upload that `fsck --delete` aborts.

Both stream: a 2 GB video is hashed as it is written and read back in 1 MB
chunks, never held in memory. Code that needs a file path (pikepdf, tar)
asks `local_path(sha)`: the blob itself locally, a checked temp copy from S3
removed when the block ends. `scratch` is a local directory for files that
end in the store (`adopt` moves them in); `sweep()` removes what a killed
process left there.

A blob is written before the row that names it commits, so a crash between
the two leaves an unreferenced blob, never a row without its file:
`fsck()` (zhifa fsck) lists those orphans and the rows whose blob is missing,
and deletes orphans older than a grace period (younger ones may belong to a
transaction in flight).
"""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from shared.files import atomic_write

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
CHUNK = 1024 * 1024
FILE_MODE, DIR_MODE = 0o400, 0o700
# Untouched this long, a temp file or work directory has no live writer (jobs end within 600 s).
STALE_SECONDS = 15 * 60
# An unreferenced blob younger than this may be one whose row has not committed yet.
FSCK_GRACE_SECONDS = 60 * 60
log = logging.getLogger("zhifa.blobstore")


def check_name(sha256: str) -> str:
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise ValueError(f"not a sha256 digest: {sha256!r}")
    return sha256


@dataclass(frozen=True)
class BlobInfo:
    sha256: str
    size: int
    modified: float          # epoch seconds: when the blob was written (or last re-put)


class BlobStore(ABC):
    """What the services use; see the module docstring."""

    scratch: Path

    # -- writing -------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        return self.put_stream([data])[0]

    @abstractmethod
    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Store the concatenated chunks; returns (sha256, size in bytes)."""

    @abstractmethod
    def put_file(self, path: Path | str) -> tuple[str, int]:
        """Copy a file (e.g. an upload spooled to disk) into the store; returns (sha256, size)."""

    @abstractmethod
    def adopt(self, path: Path | str, sha: str | None = None) -> tuple[str, int]:
        """Move a finished file of `scratch` into the store under its sha256 (given, e.g. hashed
        while it was signed, or hashed here); the file is gone afterwards. (sha256, size)."""

    # -- reading -------------------------------------------------------------------
    @abstractmethod
    def open(self, sha256: str) -> BinaryIO:
        """The blob for streaming out (check it with `verify` where integrity matters)."""

    def iter_chunks(self, sha256: str, checked: bool = True) -> Iterator[bytes]:
        """The blob in 1 MB chunks, hashed as they go: a damaged blob ends in IOError after its
        last chunk, so a download of it stops short and is never taken for the whole file
        (`checked=False` for a reader that reports damage its own way)."""
        digest = hashlib.sha256()
        with self.open(sha256) as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                if checked:
                    digest.update(chunk)
                yield chunk
        if checked and digest.hexdigest() != sha256:
            raise IOError(f"blob {sha256} is corrupt in the store")

    def get(self, sha256: str) -> bytes:
        with self.open(sha256) as fh:
            data = fh.read()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise IOError(f"blob {sha256} is corrupt in the store")
        return data

    def verify(self, sha256: str) -> bool:
        """Whether the stored blob still hashes to its name, read as a stream."""
        digest = hashlib.sha256()
        with self.open(sha256) as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
        return digest.hexdigest() == sha256

    @abstractmethod
    def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def size(self, sha256: str) -> int: ...

    @abstractmethod
    def local_path(self, sha256: str):
        """A context manager: a file path holding the blob for the block (for libraries that want a path)."""

    @contextmanager
    def local_copies(self, shas: Iterable[str], skip_damaged: bool = False) -> Iterator[dict[str, Path | None]]:
        """Paths for several blobs at once, for the block: {sha256: path}. With `skip_damaged`, a blob
        that is missing or does not hash to its name maps to None instead of raising (a check that
        reports it); locally the path is the blob's own, whatever it holds."""
        with ExitStack() as stack:
            yield {sha: stack.enter_context(self.local_path(sha)) for sha in dict.fromkeys(shas)}

    @abstractmethod
    def info(self, sha256: str) -> BlobInfo | None:
        """The blob's size and time, or None when it is not stored."""

    # -- operations ----------------------------------------------------------------
    @abstractmethod
    def listing(self) -> Iterator[BlobInfo]:
        """Every blob in the store."""

    @abstractmethod
    def delete(self, sha256: str) -> None: ...

    @abstractmethod
    def check(self) -> None:
        """Raise when the store cannot be written (for /readyz)."""

    def sweep(self, stale_seconds: float = STALE_SECONDS) -> int:
        """Remove temp files and work directories in `scratch` nobody has written for stale_seconds."""
        removed, cutoff = 0, time.time() - stale_seconds
        for entry in self.scratch.iterdir():
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
            log.info("swept %d stale temp entries from %s", removed, self.scratch)
        return removed

    def abort_stale_uploads(self, stale_seconds: float) -> int:
        """Incomplete uploads a killed writer left (S3 only); how many were aborted."""
        return 0

    def describe(self) -> str:
        return str(self.scratch)


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def _hash_file(path: Path | str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class LocalBlobStore(BlobStore):
    def __init__(self, root: Path):
        self.root = _private_dir(Path(root))
        # Work files sit on the store's file system, so adopting one is a rename, not a copy.
        self.scratch = self.root

    def describe(self) -> str:
        return str(self.root)

    def path(self, sha256: str) -> Path:
        check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        with atomic_write(self.root / "incoming", FILE_MODE) as out:   # the temp file lands in root
            for chunk in chunks:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            name = digest.hexdigest()
            out.target = self.path(name)
            self.make_dirs(out.target)
            if self._refresh(out.target):
                out.discard()
        return name, size

    def put_file(self, path: Path | str) -> tuple[str, int]:
        with open(path, "rb") as fh:
            return self.put_stream(iter(lambda: fh.read(CHUNK), b""))

    def adopt(self, path: Path | str, sha: str | None = None) -> tuple[str, int]:
        """Fsynced and renamed: no second copy of a 160 MB file; read-only like every blob."""
        path = Path(path)
        with open(path, "rb") as fh:
            if sha is None:
                sha, size = _hash_file(path)
            else:
                size = os.fstat(fh.fileno()).st_size
            os.fsync(fh.fileno())
        target = self.path(sha)
        if self._refresh(target):
            path.unlink()
            return sha, size
        self.make_dirs(target)
        os.chmod(path, FILE_MODE)
        os.replace(path, target)
        fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return sha, size

    @staticmethod
    def _refresh(target: Path) -> bool:
        """Whether the blob is already stored; if so its time is renewed, so that fsck's grace
        period covers the transaction about to reference it again."""
        try:
            os.utime(target)
            return True
        except FileNotFoundError:
            return False

    def open(self, sha256: str) -> BinaryIO:
        return open(self.path(sha256), "rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def size(self, sha256: str) -> int:
        return self.path(sha256).stat().st_size

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        yield self.path(sha256)

    def make_dirs(self, target: Path) -> None:
        """The two fan-out directories of a blob's path, private (mkdir's mode is masked by the umask)."""
        for directory in (target.parent.parent, target.parent):
            if not directory.is_dir():
                directory.mkdir(mode=DIR_MODE, exist_ok=True)
                os.chmod(directory, DIR_MODE)

    def listing(self) -> Iterator[BlobInfo]:
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for path in sorted(first.glob("[0-9a-f][0-9a-f]/*")):
                if _SHA256.match(path.name) and path.name[:2] == first.name:
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue
                    yield BlobInfo(path.name, st.st_size, st.st_mtime)

    def info(self, sha256: str) -> BlobInfo | None:
        try:
            st = self.path(sha256).stat()
        except FileNotFoundError:
            return None
        return BlobInfo(sha256, st.st_size, st.st_mtime)

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def check(self) -> None:
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise OSError(f"blob store {self.root} is not a writable directory")


class _Body:
    """An S3 object's body as a file to read (and close) in a `with` block."""

    def __init__(self, body):
        self._body = body

    def read(self, n: int = -1) -> bytes:
        return self._body.read() if n is None or n < 0 else self._body.read(n)

    def close(self) -> None:
        self._body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class S3BlobStore(BlobStore):
    """Objects `<prefix><sha[:2]>/<sha[2:4]>/<sha>` in one bucket. Writes are spooled to a temp
    file in `scratch` while hashed (the name comes from the content), then uploaded under their
    name: one PUT up to 16 MB with its SHA-256 for the server to check, a multipart upload above
    (each part's SHA-256 checked by the server)."""

    PART = 16 * 1024 * 1024
    COPY_THREADS = 8

    def __init__(self, bucket: str, prefix: str, scratch: Path, *, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str | None = None, client=None):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config
        self.bucket, self.prefix = bucket, prefix
        self.scratch = _private_dir(Path(scratch))
        self.client = client or boto3.client(
            "s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key, region_name=region or "us-east-1",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=120,
                          s3={"addressing_style": "path"} if endpoint_url else None))
        self.transfer = TransferConfig(multipart_threshold=self.PART, multipart_chunksize=self.PART,
                                       max_concurrency=4, io_chunksize=CHUNK)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def key(self, sha256: str) -> str:
        check_name(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    @contextmanager
    def _spool(self) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(dir=self.scratch, prefix=".tmp-")
        os.close(fd)
        try:
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def put(self, data: bytes) -> str:
        """Bytes already in memory (a generated DOCX or PDF) go up as they are: one PUT, no spool file."""
        if len(data) > self.PART:
            return super().put(data)
        sha = hashlib.sha256(data).hexdigest()
        self.client.put_object(Bucket=self.bucket, Key=self.key(sha), Body=data,
                               ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode())
        return sha

    def put_stream(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        with self._spool() as tmp:
            digest, size = hashlib.sha256(), 0
            with open(tmp, "wb") as out:
                for chunk in chunks:
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
            sha = digest.hexdigest()
            self._upload(tmp, sha, size)
        return sha, size

    def put_file(self, path: Path | str) -> tuple[str, int]:
        sha, size = _hash_file(path)
        self._upload(Path(path), sha, size)
        return sha, size

    def adopt(self, path: Path | str, sha: str | None = None) -> tuple[str, int]:
        path = Path(path)
        try:
            if sha is None:
                sha, size = _hash_file(path)
            else:
                size = path.stat().st_size
            self._upload(path, sha, size)
        finally:
            path.unlink(missing_ok=True)
        return sha, size

    def _upload(self, path: Path, sha: str, size: int) -> None:
        """Up to PART, one PUT whatever is there (the same bytes under the same name; it renews the
        object's time, which fsck's grace period counts from); above, only when not stored yet."""
        key = self.key(sha)
        if size <= self.PART:
            with open(path, "rb") as fh:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=fh, ContentLength=size,
                                       ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode())
        elif not self._refresh(sha):
            # boto3 aborts the multipart upload when a part fails; a killed process leaves it to fsck.
            self.client.upload_file(str(path), self.bucket, key, Config=self.transfer,
                                    ExtraArgs={"ChecksumAlgorithm": "SHA256"})

    def _refresh(self, sha: str) -> bool:
        """Whether the object exists; if so its time is renewed (copied onto itself), so that
        fsck's grace period covers the transaction about to reference it again."""
        head, key = self._head(sha), self.key(sha)
        if head is None:
            return False
        if head["ContentLength"] <= 5 * 1024 ** 3:     # CopyObject's limit; bigger ones keep their time
            self.client.copy_object(Bucket=self.bucket, Key=key, CopySource={"Bucket": self.bucket, "Key": key},
                                    MetadataDirective="REPLACE", Metadata={"refreshed": str(int(time.time()))})
        return True

    def open(self, sha256: str) -> BinaryIO:
        from botocore.exceptions import ClientError
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise FileNotFoundError(f"blob {sha256} is not in {self.describe()}") from None
            raise
        return _Body(body)

    def _head(self, sha256: str) -> dict | None:
        from botocore.exceptions import ClientError
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def iter_range(self, sha256: str, start: int, stop: int) -> Iterator[bytes]:
        """Bytes [start, stop) of the blob in 1 MB chunks (a download resumed; unchecked: a part)."""
        body = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256),
                                      Range=f"bytes={start}-{stop - 1}")["Body"]
        with _Body(body) as fh:
            yield from iter(lambda: fh.read(CHUNK), b"")

    def exists(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def info(self, sha256: str) -> BlobInfo | None:
        head = self._head(sha256)
        return None if head is None else BlobInfo(sha256, head["ContentLength"], head["LastModified"].timestamp())

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise FileNotFoundError(f"blob {sha256} is not in {self.describe()}")
        return head["ContentLength"]

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        """A checked copy in `scratch`, removed when the block ends (swept if the process dies)."""
        with self._spool() as tmp:
            with open(tmp, "wb") as out:
                for chunk in self.iter_chunks(sha256):
                    out.write(chunk)
            yield tmp

    @contextmanager
    def local_copies(self, shas: Iterable[str], skip_damaged: bool = False) -> Iterator[dict[str, Path | None]]:
        """Checked copies in one temp directory of `scratch`, downloaded COPY_THREADS at a time (a
        GET mostly waits on the network: a case file's hundred items one after the other took
        seconds), removed when the block ends."""
        unique = list(dict.fromkeys(shas))
        with tempfile.TemporaryDirectory(dir=self.scratch, prefix=".tmp-copies-") as tmp:
            def fetch(sha: str) -> tuple[str, Path | None]:
                path = Path(tmp) / sha
                try:
                    with open(path, "wb") as out:
                        for chunk in self.iter_chunks(sha):
                            out.write(chunk)
                except OSError:
                    if not skip_damaged:
                        raise
                    path.unlink(missing_ok=True)
                    return sha, None
                return sha, path
            with ThreadPoolExecutor(max_workers=max(1, min(self.COPY_THREADS, len(unique)))) as pool:
                copies = dict(pool.map(fetch, unique))
            yield copies

    def listing(self) -> Iterator[BlobInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix):]
                sha = name.rsplit("/", 1)[-1]
                if _SHA256.match(sha) and name == f"{sha[:2]}/{sha[2:4]}/{sha}":
                    yield BlobInfo(sha, obj["Size"], obj["LastModified"].timestamp())

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def abort_stale_uploads(self, stale_seconds: float) -> int:
        cutoff, aborted = time.time() - stale_seconds, 0
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < cutoff:
                    self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"],
                                                       UploadId=upload["UploadId"])
                    aborted += 1
        return aborted


def open_store(settings, service: str) -> BlobStore:
    """The service's blob store: S3 when ZHIFA_S3_BUCKET is set, else files under its data directory."""
    partial = [name for name, value in (("ZHIFA_S3_ENDPOINT_URL", settings.s3_endpoint_url),
                                        ("ZHIFA_S3_ACCESS_KEY_ID", settings.s3_access_key_id),
                                        ("ZHIFA_S3_SECRET_ACCESS_KEY", settings.s3_secret_access_key)) if value]
    if partial and not settings.s3_bucket:
        raise ValueError(f"{', '.join(partial)} set without ZHIFA_S3_BUCKET: set the bucket, or unset them "
                         "to keep the blobs under the data directory")
    if settings.s3_bucket:
        return S3BlobStore(settings.s3_bucket, settings.s3_prefix(service),
                           settings.service_dir(service) / "blob-scratch",
                           endpoint_url=settings.s3_endpoint_url, access_key_id=settings.s3_access_key_id,
                           secret_access_key=settings.s3_secret_access_key, region=settings.s3_region)
    return LocalBlobStore(settings.service_dir(service) / "blobs")


# -- fsck ------------------------------------------------------------------------------

@dataclass
class FsckReport:
    orphans: list[BlobInfo] = field(default_factory=list)          # blobs no row names
    missing: list[tuple[str, str]] = field(default_factory=list)   # (sha256, "table.column") without a blob
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)                  # orphans within the grace period
    aborted_uploads: int = 0
    blobs: int = 0

    @property
    def clean(self) -> bool:
        """Nothing left to repair: no row without its blob, no orphan that was not removed."""
        return not self.missing and len(self.deleted) == len(self.orphans)


def fsck(store: BlobStore, connection_factory, columns, *, delete: bool = False,
         grace_seconds: float = FSCK_GRACE_SECONDS, now: float | None = None) -> FsckReport:
    """Compare the store with the rows that name blobs (`columns`: SQLAlchemy columns).
    The store is listed before the rows are read, so a blob written meanwhile is not seen
    and a row committed meanwhile only protects more. With `delete`, orphans older than
    the grace period are removed (each one's age read again right before) and stale
    incomplete uploads aborted."""
    from sqlalchemy import select
    now = time.time() if now is None else now
    report = FsckReport()
    stored = {info.sha256: info for info in store.listing()}
    report.blobs = len(stored)
    referenced: dict[str, str] = {}
    with connection_factory() as conn:
        for column in columns:
            for (sha,) in conn.execute(select(column).where(column.is_not(None)).distinct()):
                referenced.setdefault(sha, f"{column.table.name}.{column.name}")
    for sha, where in sorted(referenced.items()):
        if sha not in stored and not store.exists(sha):
            report.missing.append((sha, where))
    report.orphans = [info for sha, info in sorted(stored.items()) if sha not in referenced]
    for info in report.orphans:
        if not delete or now - info.modified < grace_seconds:
            report.kept.append(info.sha256)
            continue
        fresh = store.info(info.sha256)
        if fresh is not None and now - fresh.modified < grace_seconds:
            report.kept.append(info.sha256)      # put again meanwhile: a row may be about to name it
            continue
        store.delete(info.sha256)
        report.deleted.append(info.sha256)
    if delete:
        report.aborted_uploads = store.abort_stale_uploads(grace_seconds)
        store.sweep()
    return report


def utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
