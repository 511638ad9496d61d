"""Checking any copy of a sealed file: is the seal's signature valid and
ours, are the signed bytes intact, was anything added after sealing (and
what), when was it sealed, and does the ledger know this exact file or the
sealed revision it carries.

Uses pyHanko's validation side only (never sealing.py); trusts exactly the
archive's seal CA (seal_keys), fetches nothing from the network.

Anyone may send anything here, so the cost of a file is bounded before
pyHanko sees it: the upload size (the route's own limit, `max_verify_bytes`),
then a pikepdf walk of the whole object graph with bounds on objects,
nesting, the length of any string (a signature value is a few KB; a 25 MB
hex string made pyHanko take 49 s and 4.5 GB), the number of signatures;
and the walk and pyHanko run in a forked child under a memory limit and a
deadline, so that whatever got past the checks cannot take the process
with it.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import resource
import select
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

import pikepdf

# Imported here, not in the child: a forked child finds them loaded.
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from services.archive import gm_seal
from services.archive.assembly import read_xmp_property
from services.archive.inspection import PdfTooComplex, walk_pdf
from services.archive.ledger import LedgerBook
from shared.dates import CHINA
from shared.files import digest_ranges
from shared.problems import FieldError, Problem

log = logging.getLogger("zhifa.archive.verification")

# A sealed file holds every original (as an associated file) beside its page
# rendition: a scan's bytes are there twice. An item is at most one upload,
# and verify must take any file the archive can seal, so its bound is its own.
SEALED_BYTES_FACTOR = 4
MAX_VERIFY_NODES = 1_000_000      # a 10,000-page sealed file is ~150,000
MAX_VERIFY_NESTING = 64
MAX_STRING_BYTES = 256 * 1024     # our seal's /Contents is ~20 KB (with a timestamp token ~30 KB)
MAX_SIGNATURES = 16
WALK_SECONDS = 10.0
VALIDATE_SECONDS = 20.0           # pyHanko in its child; the 226 MB sealed file takes ~0.3 s
VALIDATE_MEMORY_BYTES = 512 * 1024 * 1024
CONCURRENT_CHILDREN = 2           # so the children's memory is bounded for the process, not only per request
DIFF_TAIL_BYTES = 16 * 1024 * 1024   # appended after the seal: larger is not analysed object by object

MODIFICATION_LEVELS = {
    "NONE": "无实质改动", "LTA_UPDATES": "仅追加长期验证数据（证书、吊销信息、时间戳）",
    "FORM_FILLING": "表单填写或追加签名", "ANNOTATIONS": "增加或修改了批注", "OTHER": "改动了文件内容",
}


_children = threading.BoundedSemaphore(CONCURRENT_CHILDREN)


def max_verify_bytes(max_upload_bytes: int) -> int:
    return SEALED_BYTES_FACTOR * max_upload_bytes


def file_sha256(path: Path, length: int | None = None) -> str:
    """sha256 of the file, or of its first `length` bytes."""
    digest = hashlib.sha256()
    left = length if length is not None else -1
    with open(path, "rb") as fh:
        while left != 0:
            chunk = fh.read(1024 * 1024 if left < 0 else min(left, 1024 * 1024))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk) if left > 0 else 0
    return digest.hexdigest()


def too_costly(message: str) -> Problem:
    return Problem(422, "verify-refused", "文件未予验证", f"文件超出验证的处理上限：{message}。",
                   [FieldError("file", f"文件超出验证的处理上限（{message}），不是本档案馆封存的文件。")])


class Verifier:
    def __init__(self, trust_roots: list, ledger: LedgerBook, gm_ca=None):
        self.trust_roots = trust_roots      # asn1crypto certificates
        self.ledger = ledger
        self.gm_ca = gm_ca                  # the archive's SM2 CA (gm_seal.py), when it has one

    def verify(self, path: Path, sha256: str | None = None) -> dict:
        """The report on one copy; raises a 422 Problem naming `file` when the
        copy is past the bounds (nothing of ours ever is)."""
        sha = sha256 or file_sha256(path)
        known = self.ledger.find(sha)
        size = path.stat().st_size
        result = {"valid": False, "intact": False, "modified_after_seal": None, "ours": False,
                  "signed_by": None, "sealed_at": None, "timestamp": None, "sha256": sha, "bytes": size,
                  "case_file_id": known["case_file_id"] if known else None,
                  "archive_number": known["archive_number"] if known else None,
                  "ledger": {"found": known is not None, "sequence": known["sequence"] if known else None},
                  "changes": [], "signed_revision": None, "algorithm": None, "findings": []}
        findings = result["findings"]
        # Everything that parses the copy runs in the bounded child: the walk
        # too (an array of millions of numbers costs qpdf as much as a long string).
        need_number = known is None
        # A copy the ledger knows byte for byte is checked as of its sealing, recorded in our own
        # hash-chained ledger: a seal certificate that expired (or was rotated) since then does not
        # make a file sealed while it was valid someone else's. Any other copy is checked as of now.
        moment = datetime.fromisoformat(known["at"]) if known else None
        if not _children.acquire(timeout=VALIDATE_SECONDS):
            raise Problem(503, "busy", "服务繁忙", "正在核验的文件过多，请稍后重试。")
        try:
            outcome = run_bounded(lambda: _examine(path, self.trust_roots, size, need_number, self.gm_ca, moment),
                                  VALIDATE_SECONDS, VALIDATE_MEMORY_BYTES)
        finally:
            _children.release()
        if outcome.get("refused"):
            raise too_costly(outcome["refused"])
        if outcome.get("unreadable"):
            findings.append("文件已损坏或不是 PDF 文件，无法读取电子印章。")
            return result
        if outcome.get("unsigned"):
            findings.append("文件中没有电子印章（数字签名），不是本档案馆封存的文件。")
            return result
        if outcome.get("error"):
            log.info("verification could not read the file: %s", outcome["error"])
            findings.append("文件已损坏或被篡改，无法读取电子印章。")
            return result
        status = outcome
        modified = (not status["entire_file"]) or status["later_signatures"] or status["docmdp_ok"] is False
        ours = bool(status["intact"] and status["valid"] and status["trusted"])
        result.update(
            intact=status["intact"], ours=ours, modified_after_seal=modified, signed_by=status["signer"],
            sealed_at=status["when"].astimezone(CHINA).isoformat() if status["when"] else None,
            timestamp=status["timestamp"], algorithm=status.get("algorithm"))
        # The seal is a DocMDP "no changes" certification: a copy changed after
        # it is not a valid sealed file, however intact the sealed revision is.
        result["valid"] = ours and not modified
        if not status["intact"]:
            findings.append("签名所覆盖的内容已被改动：文件不是封存时的原样。")
        elif not status["valid"]:
            findings.append("签名值无效。")
        elif not status["trusted"]:
            findings.append(f"签名有效，但签名证书（{status['signer']}）不是本档案馆的封存证书：不是本档案馆封存的文件。")
        if modified and status["intact"]:
            result["changes"] = status["changes"]
            findings.insert(0, "文件在封存之后被修改，不是有效的封存文件：" + "；".join(result["changes"]) + "。")
            end = status["signed_end"]
            revision_sha = file_sha256(path, end)
            sealed = self.ledger.find(revision_sha)
            result["signed_revision"] = {"bytes": end, "sha256": revision_sha, "ledger_found": sealed is not None,
                                         "archive_number": sealed["archive_number"] if sealed else None}
            if sealed and ours:
                findings.append(f"文件中包含的封存版本（前 {end} 字节）与档案台账第 {sealed['sequence']} 号记录一致，"
                                "可截取该部分或通过 /v1/verify/signed-revision 取回封存原件。")
                result["archive_number"] = result["archive_number"] or sealed["archive_number"]
                result["case_file_id"] = result["case_file_id"] or sealed["case_file_id"]
        if known is None and not (modified and result["signed_revision"] and result["signed_revision"]["ledger_found"]):
            findings.append("档案台账中没有与本文件逐字节相同的封存记录。")
        if not result["archive_number"] and status["intact"]:
            result["archive_number"] = status.get("xmp_archive_number")
        if not findings:
            findings.append("电子印章有效，文件自封存以来未被改动，档案台账中有该文件的封存记录。")
        return result

    def signed_revision(self, path: Path, sha256: str | None = None) -> tuple[int, dict]:
        """(length of the sealed revision, report) of a copy whose sealed
        revision is intact and ours; a 422 naming `file` otherwise."""
        report = self.verify(path, sha256)
        revision = report["signed_revision"]
        if report["valid"]:
            return report["bytes"], report
        if not (report["intact"] and report["ours"] and revision):
            raise Problem(422, "no-sealed-revision", "没有可取回的封存版本",
                          "文件中没有本档案馆电子印章完好覆盖的封存版本。",
                          [FieldError("file", "不含本档案馆完好的封存版本。")])
        return revision["bytes"], report


# -- in the child: bounds, pyHanko, what changed ---------------------------------------

def _examine(path: Path, trust_roots: list, size: int, need_number: bool, gm_ca=None, moment=None) -> dict:
    """All parsing of the copy (runs in the bounded child); plain data back. An SM2 seal (which pyHanko
    cannot check) is checked by gm_seal's own verification, into the same shape."""
    graph, refusal = _precheck(path)
    if refusal:
        return {"refused": refusal}
    if graph is None:
        return {"unreadable": True}
    if graph.signatures == 0:
        return {"unsigned": True}
    gm = gm_ca is not None and gm_seal.gm_signed(path)
    status = _validate_gm(path, gm_ca, size) if gm else _validate(path, trust_roots, size, moment)
    if status.get("error"):
        return status
    modified = (not status["entire_file"]) or status["later_signatures"] or status["docmdp_ok"] is False
    if modified and status["intact"]:
        status["changes"] = _changes(path, status)
    if need_number and status["intact"]:
        status["xmp_archive_number"] = _archive_number(path)
    return status


def _precheck(path: Path):
    """(object graph, None), (None, why refused) or (None, None) when this is not a readable PDF."""
    with open(path, "rb") as fh:
        if b"%PDF-" not in fh.read(1024):
            return None, None
    try:
        with pikepdf.open(path) as pdf:
            graph = walk_pdf(pdf, MAX_VERIFY_NODES, MAX_VERIFY_NESTING, WALK_SECONDS, inspect_embedded=False,
                             max_string=MAX_STRING_BYTES)
    except PdfTooComplex as exc:
        return None, str(exc)
    except (pikepdf.PdfError, RecursionError, ValueError, OSError) as exc:
        log.info("verification could not open the file: %s", exc)
        return None, None
    if graph.signatures > MAX_SIGNATURES:
        return None, f"签名超过 {MAX_SIGNATURES} 个"
    return graph, None


def _changes(path: Path, status: dict) -> list[str]:
    """What the revisions after the seal changed, in words: pages added or
    removed, a page's content, its annotations, form fields, the catalog."""
    changes = []
    if status["later_signatures"]:
        changes.append("封存后又追加了其他签名")
    level = status.get("modification_level")
    changed = status.get("changed_objects")
    if changed is None:
        changes.append(f"封存后追加了 {status['tail_bytes']} 字节的修改（过大，未逐项分析）")
        return changes
    try:
        with open(path, "rb") as fh:
            with pikepdf.open(_Prefix(fh, status["signed_end"])) as before, pikepdf.open(path) as after:
                changes.extend(_describe(before, after, set(changed)))
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        log.info("could not compare revisions: %s", exc)
        changes.append("封存后追加了修改（无法逐项比较）")
    if level and level in MODIFICATION_LEVELS and level != "NONE":
        changes.append(f"签名验证程序判定的改动类别：{MODIFICATION_LEVELS[level]}")
    return changes or ["封存后追加了修订"]


def _describe(before: pikepdf.Pdf, after: pikepdf.Pdf, changed: set[tuple[int, int]]) -> list[str]:
    if not changed:
        return ["封存后仅追加了文件尾（交叉引用表），未改动任何对象；即便如此，复制件已不是封存原件"]
    out = []
    if len(before.pages) != len(after.pages):
        out.append(f"页数由 {len(before.pages)} 页变为 {len(after.pages)} 页")
    content_pages, annotation_pages = [], []
    for number, page in enumerate(after.pages, 1):
        annots = page.obj.get("/Annots")
        annot_ids = {page.obj.objgen}
        if annots is not None:
            annot_ids |= {a.objgen for a in annots if isinstance(a, pikepdf.Object) and a.is_indirect}
            if annots.is_indirect:
                annot_ids.add(annots.objgen)
        old = before.pages[number - 1].obj if number <= len(before.pages) else None
        old_annots = len(old.get("/Annots") or []) if old is not None else 0
        new_annots = len(annots or [])
        if new_annots != old_annots or (changed & (annot_ids - {page.obj.objgen})):
            annotation_pages.append(number)
        if changed & _content_ids(page.obj) or (old is not None and page.obj.objgen in changed and
                                                 _content_fingerprint(old) != _content_fingerprint(page.obj)):
            content_pages.append(number)
    if content_pages:
        out.append(f"第 {_ranges(content_pages)} 页的页面内容被改动")
    if annotation_pages:
        out.append(f"第 {_ranges(annotation_pages)} 页增加或改动了批注")
    if after.Root.objgen in changed or after.trailer.get("/Info") is not None and after.trailer.Info.objgen in changed:
        out.append("文档目录或文档信息被改动")
    form = after.Root.get("/AcroForm")
    if form is not None and form.is_indirect and form.objgen in changed:
        out.append("表单（签名域）被改动")
    if not out:
        out.append(f"封存后改写了 {len(changed)} 个对象")
    return out


def _content_ids(page: pikepdf.Object) -> set[tuple[int, int]]:
    """The objects a page's look depends on: content streams, resources and their XObjects."""
    ids = set()
    contents = page.get("/Contents")
    for c in (contents if isinstance(contents, pikepdf.Array) else [contents] if contents is not None else []):
        if c.is_indirect:
            ids.add(c.objgen)
    resources = page.get("/Resources")
    if resources is not None:
        if resources.is_indirect:
            ids.add(resources.objgen)
        for group in ("/XObject", "/Font", "/ExtGState"):
            entries = resources.get(group)
            if isinstance(entries, pikepdf.Dictionary):
                if entries.is_indirect:
                    ids.add(entries.objgen)
                ids |= {v.objgen for v in entries.values() if isinstance(v, pikepdf.Object) and v.is_indirect}
    return ids


def _content_fingerprint(page: pikepdf.Object) -> tuple:
    return (repr(page.get("/Contents")), repr(page.get("/Resources")), repr(page.get("/MediaBox")),
            repr(page.get("/Rotate")))


def _ranges(numbers: list[int]) -> str:
    shown = "、".join(str(n) for n in numbers[:10])
    return shown + (f" 等 {len(numbers)} 页" if len(numbers) > 10 else "")


class _Prefix:
    """The first `end` bytes of an open file, as a file (the sealed revision, without a copy)."""

    def __init__(self, fh, end: int):
        self.fh, self.end, self.pos = fh, end, 0

    def read(self, n: int = -1) -> bytes:
        n = self.end - self.pos if n is None or n < 0 else min(n, self.end - self.pos)
        self.fh.seek(self.pos)
        data = self.fh.read(max(n, 0))
        self.pos += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.end}[whence]
        self.pos = max(0, min(self.end, base + offset))
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


# -- pyHanko, in a bounded child ---------------------------------------------------

def _validate(path: Path, trust_roots: list, size: int, moment=None) -> dict:
    """pyHanko's verdict on the first signature, as plain data (runs in the child)."""
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            return {"error": "no signature"}
        seal = signatures[0]
        byte_range = list(seal.byte_range)
        signed_end = int(byte_range[2]) + int(byte_range[3])
        tail = size - signed_end
        _digest_in_large_chunks(seal, path)
        context = ValidationContext(trust_roots=trust_roots, allow_fetching=False, revocation_mode="soft-fail",
                                    moment=moment)
        status = validate_pdf_signature(seal, context, skip_diff=tail > DIFF_TAIL_BYTES)
        changed = None
        if tail <= DIFF_TAIL_BYTES:
            changed = []
            for revision in range(seal.signed_revision + 1, reader.xrefs.total_revisions):
                changed.extend((ref.idnum, ref.generation) for ref in reader.xrefs.explicit_refs_in_revision(revision))
        level = status.modification_level
        ts = status.timestamp_validity
        when = ts.timestamp if ts else status.signer_reported_dt
        return {
            "intact": bool(status.intact), "valid": bool(status.valid), "trusted": bool(status.trusted),
            "entire_file": status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
            "later_signatures": len(signatures) > 1, "docmdp_ok": status.docmdp_ok,
            "modification_level": level.name if level is not None else None,
            "signer": status.signing_cert.subject.native.get("common_name") if status.signing_cert else None,
            "when": when, "signed_end": signed_end, "tail_bytes": tail, "changed_objects": changed,
            "timestamp": ({"present": True, "intact": bool(ts.intact), "valid": bool(ts.valid)} if ts
                          else {"present": False}),
            "algorithm": seal.signer_info["signature_algorithm"]["algorithm"].native,
        }


def _validate_gm(path: Path, ca, size: int) -> dict:
    """gm_seal.verify_gm's verdict in _validate's shape (runs in the child), with the objects later
    revisions rewrote (pyHanko's reader parses the revisions; it only cannot check SM2)."""
    gm = gm_seal.verify_gm(path, ca)
    if gm.get("signed_end") is None:
        return {"error": gm["findings"][0]}
    signed_end = gm["signed_end"]
    tail = size - signed_end
    with open(path, "rb") as fh:
        reader = PdfFileReader(fh, strict=False)
        signatures = reader.embedded_signatures
        changed = None
        if tail <= DIFF_TAIL_BYTES:
            changed = []
            for revision in range(signatures[0].signed_revision + 1, reader.xrefs.total_revisions):
                changed.extend((ref.idnum, ref.generation) for ref in reader.xrefs.explicit_refs_in_revision(revision))
    return {"intact": gm["intact"], "valid": gm["intact"], "trusted": gm["ours"], "entire_file": tail == 0,
            "later_signatures": len(signatures) > 1, "docmdp_ok": None, "modification_level": None,
            "signer": gm["signer"], "when": gm["when"], "signed_end": signed_end, "tail_bytes": tail,
            "changed_objects": changed, "timestamp": {"present": False}, "algorithm": gm["algorithm"]}


def _digest_in_large_chunks(seal, path: Path) -> None:
    """The /ByteRange digest in 1 MB reads (pyHanko reads 4 KB at a time: 57,000
    reads for a 228 MB file), handed to pyHanko through its digest cache."""
    algorithm = seal.external_md_algorithm
    try:
        digest = hashlib.new(algorithm.replace("-", "_"))
    except (ValueError, TypeError):
        return        # pyHanko computes it itself
    byte_range = [int(v) for v in seal.byte_range]
    digest_ranges(path, list(zip(byte_range[::2], byte_range[1::2])), digest)
    seal.external_digests[algorithm] = digest.digest()


def run_bounded(fn, seconds: float, memory_bytes: int) -> dict:
    """fn() in a forked child with an address-space limit of the child's
    current size + `memory_bytes` and a deadline of `seconds`; its dict
    result comes back pickled. Past a bound: a 422 Problem (the child is
    killed); an exception in fn: {"error": text}."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:     # the child: never returns into the server's code
        code = 0
        try:
            os.close(read_fd)
            with open("/proc/self/statm") as statm:
                virtual = int(statm.read().split()[0]) * resource.getpagesize()
            resource.setrlimit(resource.RLIMIT_AS, (virtual + memory_bytes, resource.RLIM_INFINITY))
            try:
                payload = pickle.dumps(("ok", fn()))
            except MemoryError:
                payload, code = pickle.dumps(("memory", None)), 3
            except Exception as exc:     # pyHanko raises many kinds for a damaged file
                payload = pickle.dumps(("ok", {"error": f"{type(exc).__name__}: {exc}"}))
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:
            code = 4
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks, deadline = [], time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([read_fd], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                raise too_costly(f"验证超过 {seconds:g} 秒")
            data = os.read(read_fd, 1 << 20)
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(read_fd)
        _, wait_status = os.waitpid(pid, 0)
    if not chunks:
        raise too_costly(f"验证所需内存超过 {memory_bytes // (1024 * 1024)} MB" if os.WIFEXITED(wait_status)
                         else "验证进程异常终止")
    kind, value = pickle.loads(b"".join(chunks))
    if kind == "memory":
        raise too_costly(f"验证所需内存超过 {memory_bytes // (1024 * 1024)} MB")
    return value


def _archive_number(path: Path) -> str | None:
    try:
        with pikepdf.open(path) as pdf:
            return read_xmp_property(pdf, "ArchiveNumber")
    except pikepdf.PdfError:
        return None
