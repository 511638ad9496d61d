"""DOCX -> PDF/A-2b through a pool of warm LibreOffice processes.

LibreOffice exports a plain PDF (its PDF/A export forces a tagged PDF, 7-10 %
of its time); complete_pdfa() adds what PDF/A-2b asks of the file with pikepdf
in about a millisecond: XMP with the pdfaid claim matching the Info
dictionary, an sRGB output intent, annotation print flags.

A cold `soffice --convert-to` pays LibreOffice's start-up for every document;
the pool keeps `size` members running, each a soffice_worker.py process (run
by Debian's python3, which has `uno`) with its own soffice and user profile,
talked to over its stdin/stdout. Any failed or timed-out conversion kills
that member's whole process group, restarts it and retries once before
raising ConversionError.

Each pool's work directory belongs to one process (the caller passes a
directory of its own: two processes sharing a LibreOffice profile hand the
instance back and forth and restart it). A member is started afresh after
`recycle_after` conversions (soffice grows by about 1 MB a conversion). A
worker kills its group when its stdin closes, so LibreOffice never outlives
the process that started it, even one killed with SIGKILL.
"""
from __future__ import annotations

import atexit
import io
import json
import logging
import os
import queue
import re
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pikepdf
from pikepdf import pdfa

log = logging.getLogger("zhifa.generator.pdf")

WORKER = Path(__file__).with_name("soffice_worker.py")
DEFAULT_UNO_PYTHON = "/usr/bin/python3"   # Debian's python3 with python3-uno

# PDF/A-2b for the cold command-line baseline (the worker sets the same).
CLI_CONVERT_TO = 'pdf:writer_pdf_Export:{"SelectPdfVersion":{"type":"long","value":"2"}}'

START_TIMEOUT = 90.0


class ConversionError(Exception):
    """A DOCX could not be converted to PDF."""


PDFA_FLAVOUR = "2b"
_PDFA_SAVE = pdfa.resolve_save_kwargs(pdfa.Flavour(PDFA_FLAVOUR))   # what pikepdf's validator assumes
# LibreOffice 7.4 writes UTC as "D:20261202053938Z'"; the stray quote makes the date unreadable,
# and PDF/A's metadata would then lose the creation date.
_LO_UTC_DATE = re.compile(r"^(D:\d{14})Z'$")


def complete_pdfa(plain: bytes) -> bytes:
    """LibreOffice's plain PDF as PDF/A-2b: the same pages, fonts (LibreOffice
    embeds them all) and Info (Title, Author, creation date), plus the XMP
    packet that claims PDF/A-2b and repeats the Info, an sRGB output intent
    (pikepdf's ICC profile) and print flags on annotations.

    LibreOffice's own additions that are no part of PDF/A's vocabulary go: the
    trailer's /DocChecksum and the /OpenAction that opens page 1 (what a viewer
    does anyway). The result passes pikepdf's allowlist validator
    (tests/generator/test_pdf.py runs it on every template); it is not run
    here, as it takes a quarter of a second a document."""
    try:
        with pikepdf.open(io.BytesIO(plain)) as pdf:
            if "/DocChecksum" in pdf.trailer:
                del pdf.trailer.DocChecksum
            if "/OpenAction" in pdf.Root:
                del pdf.Root.OpenAction
            created = pdf.docinfo.get("/CreationDate")
            if created is not None and (m := _LO_UTC_DATE.match(str(created))):
                pdf.docinfo.CreationDate = f"{m.group(1)}Z"
            pdfa.prepare(pdf, PDFA_FLAVOUR)
            out = io.BytesIO()
            pdf.save(out, **_PDFA_SAVE)
            return out.getvalue()
    except (pikepdf.PdfError, ValueError) as exc:
        raise ConversionError(f"LibreOffice's PDF could not be made PDF/A-2b: {exc}") from exc


def _worker_command() -> list[str]:
    python = os.environ.get("ZHIFA_UNO_PYTHON") or DEFAULT_UNO_PYTHON
    if not Path(python).exists():
        raise ConversionError(f"Python with LibreOffice's uno not found at {python} (set ZHIFA_UNO_PYTHON)")
    return [python, "-I", str(WORKER), _soffice_executable()]


def _soffice_executable() -> str:
    # The wrapper script, not soffice.bin: on a fresh profile soffice.bin exits
    # with "restart requested" and only oosplash starts it again.
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ConversionError("LibreOffice (soffice) is not installed")
    return soffice


def group_processes(pgid: int) -> dict[int, str]:
    """Live (non-zombie) processes in process group `pgid`: {pid: command name}."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ")".
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            found[int(entry.name)] = comm
    return found


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class PoolMember:
    """One soffice_worker.py process and its soffice, in their own process group.

    Documented for operations and tests:
      process       -- Popen of the worker (None when stopped); its pid is the
                       process group id of the worker, oosplash and soffice.bin.
      soffice_pid() -- pid of this member's soffice.bin, or None.
      profile_dir   -- the LibreOffice user profile used only by this member.
      starts        -- how many times this member was (re)started.
      conversions   -- conversions since the last start.
    """

    def __init__(self, index: int, fonts_conf: Path, work_dir: Path, closed: threading.Event):
        self.index = index
        self.fonts_conf = fonts_conf
        self.dir = work_dir / f"member-{index}"
        self.profile_dir = self.dir / "profile"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.conversions = 0
        self.last_stages: dict = {}   # ms of the last conversion's load and store, for the figures
        self._closed = closed
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        pid = self.process.pid if self.process else None
        return f"<PoolMember {self.index} pid={pid}>"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        """Running and done starting: a warm-up still waiting for its worker's
        first line holds the lock, and a DOCX sent then would be read as that line."""
        if not self._lock.acquire(blocking=False):
            return False
        try:
            return self.alive()
        finally:
            self._lock.release()

    def soffice_pid(self) -> int | None:
        """pid of this member's soffice.bin (the LibreOffice worker), if running."""
        if self.process is None:
            return None
        for pid, comm in group_processes(self.process.pid).items():
            if comm == "soffice.bin":
                return pid
        return None

    def ensure_running(self) -> None:
        with self._lock:
            if self.alive():
                return
            if self.process is not None:
                # Died between conversions (crash, OOM killer, external kill).
                log.warning("pdf pool member %d died (exit %s); restarting",
                            self.index, self.process.returncode)
                self._kill_locked("found dead")
            self._start_locked()

    def _start_locked(self) -> None:
        if self._closed.is_set():
            raise ConversionError("PDF converter is closed")
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        # A killed soffice leaves its lock behind; nothing else uses this profile.
        (self.profile_dir / ".lock").unlink(missing_ok=True)
        env = {**os.environ, "FONTCONFIG_FILE": str(self.fonts_conf)}
        with open(self.dir / "worker.log", "ab") as logfile:
            # Own session => own process group, so one killpg takes soffice too.
            self.process = subprocess.Popen(
                _worker_command() + [str(self.profile_dir)], env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=logfile, start_new_session=True)
        os.set_blocking(self.process.stdin.fileno(), False)   # see _write
        self.starts += 1
        self.conversions = 0
        t0 = time.monotonic()
        try:
            reply = self._read_reply(START_TIMEOUT, "start")
            if not reply.get("ready"):
                raise ConversionError(f"LibreOffice worker did not start: {reply}")
        except BaseException:
            self._kill_locked("did not become ready")
            raise
        log.info("pdf pool member %d: LibreOffice ready after %.1f s (start #%d)",
                 self.index, time.monotonic() - t0, self.starts)

    def _write(self, data: bytes, deadline: float) -> None:
        """All of `data` to the worker's stdin (non-blocking), within the deadline:
        a worker stuck in LibreOffice stops reading, and a large DOCX would
        otherwise block on the full pipe past any timeout."""
        fd = self.process.stdin.fileno()
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("LibreOffice conversion timed out while sending the DOCX")
            _, writable, _ = select.select([], [fd], [], min(left, 0.5))
            if not writable:
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError) as exc:
                raise ConversionError(f"LibreOffice worker is gone ({exc!r}); see {self.dir / 'worker.log'}") from exc

    def _read_reply(self, timeout: float, what: str) -> dict:
        """The worker's next answer line, waiting at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        out = self.process.stdout
        while True:
            if self._closed.is_set():
                raise ConversionError("PDF converter is closed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"LibreOffice {what} timed out after {timeout:.3g} s")
            ready, _, _ = select.select([out], [], [], min(left, 0.5))
            if ready:
                line = out.readline()
                if not line:
                    raise ConversionError(f"LibreOffice worker exited during {what} "
                                          f"(exit {self.process.poll()}); see {self.dir / 'worker.log'}")
                return json.loads(line)

    def send(self, docx: bytes, deadline: float) -> None:
        """Hand the DOCX to the worker: LibreOffice starts on it at once."""
        # In memory both ways: a header line, then the bytes (see soffice_worker.py).
        self._write(json.dumps({"bytes": len(docx)}).encode() + b"\n" + docx, deadline)

    def receive(self, deadline: float) -> bytes:
        """The PDF of the DOCX last sent, waiting until the deadline."""
        reply = self._read_reply(deadline - time.monotonic(), "conversion")
        if not reply.get("ok"):
            raise ConversionError(reply.get("error") or "LibreOffice could not convert the document")
        size = int(reply.get("bytes", -1))
        # The worker writes the PDF right behind its answer line.
        data = self.process.stdout.read(size) if size > 0 else b""
        if len(data) != size or not data.startswith(b"%PDF-"):
            raise ConversionError("LibreOffice wrote no PDF")
        self.conversions += 1
        self.last_stages = reply.get("ms") or {}
        return data

    def kill(self, reason: str, graceful: bool = False) -> None:
        with self._lock:
            self._kill_locked(reason, graceful)

    def _kill_locked(self, reason: str, graceful: bool = False) -> None:
        proc = self.process
        if proc is None:
            return
        if proc.poll() is None:
            log.log(logging.INFO if graceful else logging.WARNING,
                    "pdf pool member %d: killing process group %d (%s)", self.index, proc.pid, reason)
            soffice = self.soffice_pid()
            if graceful and soffice is not None:
                # SIGTERM lets soffice.bin write its profile; the rest get SIGKILL below.
                try:
                    os.kill(soffice, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                deadline = time.monotonic() + 3
                while soffice in group_processes(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
        # Kill the group even if the worker already exited: soffice may linger.
        _kill_group(proc.pid)
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            log.error("pdf pool member %d: worker pid %d survived SIGKILL", self.index, proc.pid)
        # Children reparented to init die asynchronously; wait until they are gone.
        deadline = time.monotonic() + 10
        while group_processes(proc.pid) and time.monotonic() < deadline:
            _kill_group(proc.pid)
            time.sleep(0.05)
        self.process = None


class PdfConverter:
    """Thread-safe pool of `size` warm LibreOffice processes.

    convert() takes a free member (blocking while all are busy), starting it
    lazily. Use as a context manager or call close(); close() also runs atexit.
    """

    def __init__(self, size: int, timeout: float, fonts_conf: Path, work_dir: Path,
                 recycle_after: int = 200):
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self.timeout = timeout
        self.recycle_after = recycle_after
        # Figures for /metrics: conversions, failed attempts, (re)starts, seconds spent.
        self.stats = {"conversions": 0, "failures": 0, "seconds": 0.0}
        self.fonts_conf = Path(fonts_conf).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._closed = threading.Event()
        self.members = [PoolMember(i, self.fonts_conf, self.work_dir, self._closed)
                        for i in range(size)]
        # LIFO: reuse the warmest member; a second process starts only under load.
        self._free: queue.LifoQueue[PoolMember] = queue.LifoQueue()
        for member in reversed(self.members):
            self._free.put(member)
        atexit.register(self.close)

    def __enter__(self) -> "PdfConverter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def warm(self) -> None:
        """Start every member now, in parallel, so no document waits ~5 s for one."""
        errors: list[BaseException] = []

        def start(member: PoolMember) -> None:
            try:
                member.ensure_running()
            except BaseException as exc:   # reported below, from the caller's thread
                errors.append(exc)
        threads = [threading.Thread(target=start, args=(m,), name=f"pdf-warm-{m.index}") for m in self.members]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def restarts(self) -> int:
        return sum(max(0, m.starts - 1) for m in self.members)

    def convert(self, docx: bytes, timeout: float | None = None) -> bytes:
        """Convert DOCX bytes to PDF/A-2b bytes; `timeout` overrides the pool's."""
        if self._closed.is_set():
            raise ConversionError("PDF converter is closed")
        if not docx.startswith(b"PK"):
            # Not a zip, so not a DOCX: fail here rather than restart LibreOffice twice.
            raise ConversionError("input is not a DOCX file (no zip signature)")
        limit = self.timeout if timeout is None else timeout
        return complete_pdfa(self._attempts(self._free.get(), docx, limit))

    def begin(self, docx: bytes, timeout: float | None = None) -> "StartedConversion | None":
        """Start converting on a free, running member from the caller's thread, without
        waiting: the DOCX is with LibreOffice when this returns, and `result()` reads the
        PDF later. None when no member is free and running (or the DOCX could not be
        sent): then call convert(), which waits for one. A thread handing the DOCX over
        instead waits for the GIL the caller holds while it stores the DOCX: 5 ms or more
        of a request, under load."""
        if self._closed.is_set() or not docx.startswith(b"PK"):
            return None
        try:
            member = self._free.get_nowait()
        except queue.Empty:
            return None
        limit = self.timeout if timeout is None else timeout
        sent_at = time.monotonic()
        try:
            if not member.ready():
                raise LookupError("not running")     # starting it takes seconds: convert() does that
            member.send(docx, sent_at + limit)
        except Exception as exc:
            if not isinstance(exc, LookupError):
                self.stats["failures"] += 1
                member.kill(f"could not send the DOCX: {exc!r}")
            self._free.put(member)
            return None
        return StartedConversion(self, member, docx, limit, sent_at)

    def _attempts(self, member: PoolMember, docx: bytes, limit: float, sent_at: float | None = None,
                  attempts: tuple[int, ...] = (1, 2)) -> bytes:
        """LibreOffice's plain PDF of the DOCX from `member` (already sent to it at
        `sent_at`, or sent now); a failed attempt restarts the member for the next.
        The member goes back to the pool (or to recycling) in any case."""
        recycling = False
        try:
            errors = []
            for attempt in attempts:
                try:
                    if sent_at is None:
                        member.ensure_running()
                        sent_at = time.monotonic()
                        member.send(docx, sent_at + limit)
                    pdf = member.receive(sent_at + limit)
                    elapsed = time.monotonic() - sent_at
                    self.stats["conversions"] += 1
                    self.stats["seconds"] += elapsed
                    for stage, spent in member.last_stages.items():
                        key = f"{stage}_seconds"
                        self.stats[key] = self.stats.get(key, 0.0) + spent / 1000
                    log.debug("pdf pool member %d converted %d bytes in %.2f s", member.index, len(docx), elapsed)
                    recycling = member.conversions >= self.recycle_after
                    return pdf
                except Exception as exc:
                    sent_at = None
                    if self._closed.is_set():
                        raise ConversionError("PDF converter was closed during conversion") from exc
                    reason = "timed out after %.3g s" % limit if isinstance(exc, TimeoutError) else repr(exc)
                    errors.append(reason)
                    self.stats["failures"] += 1
                    log.warning("pdf pool member %d: conversion attempt %d failed: %s",
                                member.index, attempt, reason)
                    # Whatever went wrong, never reuse that process.
                    member.kill(f"conversion failed: {reason}")
            raise ConversionError(
                "DOCX to PDF conversion failed twice (restarted LibreOffice in between): "
                + "; ".join(errors))
        finally:
            if recycling:
                # Restart off the caller's path; the other members serve meanwhile.
                threading.Thread(target=self._recycle, args=(member,), name=f"pdf-recycle-{member.index}",
                                 daemon=True).start()
            else:
                self._free.put(member)

    def _recycle(self, member: PoolMember) -> None:
        try:
            member.kill(f"recycled after {member.conversions} conversions", graceful=True)
            if not self._closed.is_set():
                member.ensure_running()
        except Exception:
            log.exception("pdf pool member %d: restart after recycling failed; the next conversion retries",
                          member.index)
        finally:
            self._free.put(member)

    def close(self) -> None:
        """Stop every member; no soffice started by the pool survives."""
        if not self._closed.is_set():
            self._closed.set()
            log.info("closing PDF converter pool (%d members)", self.size)
        for member in self.members:
            member.kill("pool closed", graceful=True)
        atexit.unregister(self.close)
        shutil.rmtree(self.work_dir, ignore_errors=True)   # profiles belong to this pool alone


class StartedConversion:
    """A DOCX already with a pool member (PdfConverter.begin). Exactly one of
    `result()` (the PDF/A, with the pool's retry if this attempt fails) or
    `cancel()` (read and dropped on a thread, so the member returns to the pool)."""

    def __init__(self, pool: PdfConverter, member: PoolMember, docx: bytes, limit: float, sent_at: float):
        self._pool, self._member, self._docx, self._limit, self._sent_at = pool, member, docx, limit, sent_at
        self._claimed = threading.Lock()

    def result(self) -> bytes:
        if not self._claimed.acquire(blocking=False):
            raise RuntimeError("this conversion's result was already taken or cancelled")
        return complete_pdfa(self._pool._attempts(self._member, self._docx, self._limit, self._sent_at))

    def cancel(self) -> bool:
        if not self._claimed.acquire(blocking=False):
            return False

        def drain() -> None:
            try:
                self._pool._attempts(self._member, self._docx, self._limit, self._sent_at, attempts=(1,))
            except Exception:
                pass   # logged by _attempts; the member was restarted there
        threading.Thread(target=drain, name=f"pdf-discard-{self._member.index}", daemon=True).start()
        return True


def convert_with_soffice_cli(docx: bytes, fonts_conf: Path, work_dir: Path,
                             timeout: float = 120.0) -> bytes:
    """Cold conversion: one `soffice --headless --convert-to` per document.

    Slow (LibreOffice starts every time) but has no state; the benchmark's
    baseline and a reference for comparing pool output.
    """
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise ConversionError("LibreOffice (soffice) is not installed")
    with tempfile.TemporaryDirectory(dir=work_dir, prefix="soffice-") as tmp:
        tmp_path = Path(tmp)
        src = tmp_path / "document.docx"
        src.write_bytes(docx)
        out = tmp_path / "out"
        cmd = [soffice, "--headless", "--norestore", "--nologo", "--nodefault",
               f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
               "--convert-to", CLI_CONVERT_TO, "--outdir", str(out), str(src)]
        env = {**os.environ, "FONTCONFIG_FILE": str(Path(fonts_conf).resolve())}
        proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            log.warning("soffice CLI conversion killed after %.0f s", timeout)
            raise ConversionError(f"soffice did not finish within {timeout:.0f} s") from None
        finally:
            _kill_group(proc.pid)  # oosplash may leave soffice.bin behind
        pdf = out / "document.pdf"
        if proc.returncode != 0 or not pdf.is_file():
            text = output.decode(errors="replace").strip()
            raise ConversionError(f"soffice exited with {proc.returncode} and wrote no PDF: {text}")
        return pdf.read_bytes()
