"""One warm LibreOffice, converting DOCX to PDF on request.

Run by the PDF pool (pdf.py) with Debian's python3, the only Python that can
import LibreOffice's `uno`; standard library and uno only. It starts soffice
in its own process group (the pool starts this worker as a group leader),
connects over a private UNO pipe, says READY on stdout, then serves requests
on stdin/stdout, each a JSON header line followed by raw bytes:

    request:  the line {"bytes": N}, then N bytes of DOCX
    answer:   the line {"ok": true, "bytes": M, "ms": {...}}, then M bytes of PDF,
              or the line {"ok": false, "error": "..."}

The DOCX is handed to LibreOffice as an in-memory stream and the PDF comes
back as one byte sequence (SequenceOutputStream: LibreOffice writes it
locally, one UNO call fetches it): no temp files, no per-chunk round trips.
The answer goes out as soon as the PDF exists; the document is closed
afterwards, while the pool is busy storing and registering the PDF, so the
close never sits on a request's path. `ms` carries the time of each stage
for the pool's figures.

Talking over a pipe instead of XML-RPC (unoserver) saves about a quarter of
a conversion's time. When stdin closes, however the pool's process ended
(SIGKILL included), the worker kills its whole group: no LibreOffice is
ever left behind.

Usage: python3 soffice_worker.py SOFFICE PROFILE_DIR
"""
import json
import os
import signal
import subprocess
import sys
import time

import uno
from com.sun.star.beans import PropertyValue

START_TIMEOUT = 90.0
# A plain, untagged PDF: LibreOffice's own PDF/A export forces a tagged PDF (7-10 % of its time,
# a third more bytes); the pool makes the plain PDF PDF/A-2b (pdf.complete_pdfa). The 14 standard
# fonts are embedded too, as PDF/A wants every font.
PDF_FILTER_DATA = {"UseTaggedPDF": False, "EmbedStandardFonts": True}
DOCX_IMPORT_FILTER = "MS Word 2007 XML"      # skips type detection


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def start_office(soffice, profile_dir):
    """(desktop, component context) of a new soffice listening on a private pipe."""
    pipe = f"zhifa-{os.getpid()}"
    subprocess.Popen([soffice, "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
                      "--nofirststartwizard", "--norestore",
                      f"-env:UserInstallation={uno.systemPathToFileUrl(profile_dir)}",
                      f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
            desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
            return desktop, ctx
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class Office:
    def __init__(self, desktop, ctx):
        self.desktop, self.ctx = desktop, ctx
        smgr = ctx.ServiceManager
        self._create = smgr.createInstanceWithContext
        self._create_with = smgr.createInstanceWithArgumentsAndContext
        # Built once: the same for every document.
        self.store_filter = (prop("FilterName", "writer_pdf_Export"),
                             prop("FilterData", uno.Any("[]com.sun.star.beans.PropertyValue",
                                                        tuple(prop(k, v) for k, v in PDF_FILTER_DATA.items()))))
        self.pending_close = None

    def convert(self, docx):
        """PDF bytes of DOCX bytes, and the time of each stage in ms."""
        t0 = time.perf_counter()
        source = self._create_with("com.sun.star.io.SequenceInputStream", (uno.ByteSequence(docx),), self.ctx)
        load = (prop("Hidden", True), prop("ReadOnly", True), prop("FilterName", DOCX_IMPORT_FILTER),
                prop("InputStream", source))
        document = self.desktop.loadComponentFromURL("private:stream", "_blank", 0, load)
        if document is None:
            raise RuntimeError("LibreOffice could not open the DOCX")
        t1 = time.perf_counter()
        try:
            sink = self._create("com.sun.star.io.SequenceOutputStream", self.ctx)
            document.storeToURL("private:stream", self.store_filter + (prop("OutputStream", sink),))
            pdf = sink.getWrittenBytes().value
        except BaseException:
            document.close(True)
            raise
        self.pending_close = document
        t2 = time.perf_counter()
        return pdf, {"load": round((t1 - t0) * 1000, 1), "store": round((t2 - t1) * 1000, 1)}

    def close_pending(self):
        """Close the last document: after its answer went out, off the request's path."""
        document, self.pending_close = self.pending_close, None
        if document is not None:
            document.close(True)


def read_request(stdin):
    line = stdin.readline()
    if not line:
        return None
    size = int(json.loads(line)["bytes"])
    data = stdin.read(size)
    if len(data) != size:
        return None   # the pool went away mid-request
    return data


def answer(message, payload=b""):
    out = sys.stdout.buffer
    out.write(json.dumps(message).encode() + b"\n")
    out.write(payload)
    out.flush()


def main():
    soffice, profile_dir = sys.argv[1], os.path.abspath(sys.argv[2])
    try:
        office = Office(*start_office(soffice, profile_dir))
        answer({"ready": True, "pid": os.getpid()})
        while True:
            docx = read_request(sys.stdin.buffer)
            if docx is None:
                break
            try:
                pdf, ms = office.convert(docx)
                answer({"ok": True, "bytes": len(pdf), "ms": ms}, pdf)
            except Exception as exc:   # reported to the pool, which restarts this member
                answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
                break
            # A failed close leaves LibreOffice in doubt: exit, and the pool
            # starts this member afresh before its next conversion.
            office.close_pending()
    finally:
        # stdin closed (the pool's process ended or closed us) or LibreOffice failed.
        os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    main()
