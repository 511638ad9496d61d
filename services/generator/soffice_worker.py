"""One warm LibreOffice, converting DOCX to PDF/A-2b on request.

Run by the PDF pool (pdf.py) with Debian's python3, the only Python that can
import LibreOffice's `uno`; standard library and uno only. It starts soffice
in its own process group (the pool starts this worker as a group leader),
connects over a private UNO pipe, says READY on stdout, then reads one JSON
request a line on stdin ({"src": path, "dst": path}) and answers one JSON
line ({"ok": true} or {"ok": false, "error": "..."}).

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
PDF_FILTER_DATA = {"SelectPdfVersion": 2}   # PDF/A-2b: fonts embedded, XMP pdfaid claim
DOCX_IMPORT_FILTER = "MS Word 2007 XML"      # skips type detection


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def start_office(soffice, profile_dir):
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
            return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def convert(desktop, src, dst):
    load = (prop("Hidden", True), prop("ReadOnly", True), prop("FilterName", DOCX_IMPORT_FILTER))
    document = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0, load)
    if document is None:
        raise RuntimeError("LibreOffice could not open the DOCX")
    try:
        filter_data = uno.Any("[]com.sun.star.beans.PropertyValue",
                              tuple(prop(k, v) for k, v in PDF_FILTER_DATA.items()))
        document.storeToURL(uno.systemPathToFileUrl(dst),
                            (prop("FilterName", "writer_pdf_Export"), prop("FilterData", filter_data)))
    finally:
        document.close(True)


def answer(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def main():
    soffice, profile_dir = sys.argv[1], os.path.abspath(sys.argv[2])
    try:
        desktop = start_office(soffice, profile_dir)
        answer({"ready": True, "pid": os.getpid()})
        for line in sys.stdin:
            request = json.loads(line)
            try:
                convert(desktop, request["src"], request["dst"])
                answer({"ok": True})
            except Exception as exc:   # reported to the pool, which restarts this member
                answer({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]})
                break
    finally:
        # stdin closed (the pool's process ended or closed us) or LibreOffice failed.
        os.killpg(0, signal.SIGKILL)


if __name__ == "__main__":
    main()
