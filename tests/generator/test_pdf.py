"""services.generator.pdf against real LibreOffice processes (no fakes)."""
from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf
import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from PIL import Image
from pikepdf import pdfa

from services.archive.inspection import pdfa_conformance
from services.generator.pdf import (ConversionError, PdfConverter, complete_pdfa, convert_with_soffice_cli,
                                    group_processes)
from shared.fonts import install_fonts

BODY = "当事人对复核结果没有异议，骨干证据直接说明违法事实。"
TITLE = "行政处罚决定书"


def _run(paragraph, text: str, font: str, size: int, bold: bool = False):
    run = paragraph.add_run(text)
    run.font.name = font
    run.font.size = Pt(size)
    run.bold = bold
    # python-docx's font.name sets only ascii/hAnsi; Chinese text uses eastAsia.
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), font)


def _docx(path: Path, lines: list[tuple[str, str, int]]) -> bytes:
    doc = Document()
    for i, (text, font, size) in enumerate(lines):
        p = doc.add_paragraph()
        if i == 0:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _run(p, text, font, size)
    doc.save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(scope="module")
def fonts_conf(tmp) -> Path:
    return install_fonts(tmp / "fonts")


@pytest.fixture(scope="module")
def decision_docx(tmp) -> bytes:
    """A typical document: 小标宋 title, 仿宋 body only (so every font must be serif)."""
    return _docx(tmp / "decision.docx",
                 [(TITLE, "方正小标宋简体", 22)] + [(BODY * 3, "仿宋_GB2312", 16)] * 4)


@pytest.fixture(scope="module")
def mixed_docx(tmp) -> bytes:
    return _docx(tmp / "mixed.docx", [("黑体标题复骨", "黑体", 16), ("楷体引文直没", "楷体_GB2312", 16),
                                      ("宋体正文说明", "宋体", 16)])


@pytest.fixture(scope="module")
def pool(tmp, fonts_conf):
    with PdfConverter(size=2, timeout=60, fonts_conf=fonts_conf, work_dir=tmp / "pool") as p:
        yield p


def pdffonts(pdf: Path) -> list[tuple[str, str]]:
    """(font name without subset tag, emb column) for every font in the PDF."""
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    return [(line.split()[0].split("+")[-1], line.split()[-5]) for line in lines]


def pdftext(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return "".join(out.stdout.split())  # LibreOffice wraps lines mid-sentence


def assert_pdfa2b(pdf: Path) -> None:
    with pikepdf.open(pdf) as doc:
        meta = doc.open_metadata()
        assert meta.get("pdfaid:part") == "2"
        assert meta.get("pdfaid:conformance") == "B"
        assert "/OutputIntents" in doc.Root


def save(tmp: Path, name: str, data: bytes) -> Path:
    assert data.startswith(b"%PDF-")
    path = tmp / name
    path.write_bytes(data)
    return path


def test_pool_pdf_is_pdfa2b_with_text_and_sc_serif_fonts(pool, tmp, decision_docx):
    pdf = save(tmp, "decision.pdf", pool.convert(decision_docx))
    text = pdftext(pdf)
    assert TITLE in text and BODY in text
    assert_pdfa2b(pdf)
    fonts = pdffonts(pdf)
    assert fonts and all(emb == "yes" for _, emb in fonts), fonts
    names = {name for name, _ in fonts}
    # 仿宋 body and 小标宋 title: Simplified Chinese serif faces only.
    assert names <= {"NotoSerifCJKsc-Regular-VKana", "NotoSerifCJKsc-Bold-VKana"} or all(
        n.startswith("NotoSerifCJKsc-") for n in names), names
    assert not any("jp" in n.lower() or "sans" in n.lower() for n in names), names


def test_hei_kai_song_map_to_sc_sans_ukai_and_sc_serif(pool, tmp, mixed_docx):
    pdf = save(tmp, "mixed.pdf", pool.convert(mixed_docx))
    assert "楷体引文直没" in pdftext(pdf)
    fonts = pdffonts(pdf)
    assert all(emb == "yes" for _, emb in fonts), fonts
    names = {name.split("-")[0] for name, _ in fonts}
    assert names == {"NotoSansCJKsc", "UKaiCN", "NotoSerifCJKsc"}, fonts


def test_cli_baseline_gives_same_kind_of_pdf(tmp, fonts_conf, decision_docx):
    pdf = save(tmp, "cli.pdf", convert_with_soffice_cli(decision_docx, fonts_conf, tmp / "cli"))
    assert BODY in pdftext(pdf)
    assert_pdfa2b(pdf)
    assert all(name.startswith("NotoSerifCJKsc-") for name, _ in pdffonts(pdf))


def test_timeout_raises_then_pool_recovers(pool, decision_docx):
    starts = sum(m.starts for m in pool.members)
    with pytest.raises(ConversionError, match="timed out"):
        pool.convert(decision_docx, timeout=0.01)
    # Both attempts were killed and restarted; the pool then works normally.
    assert pool.convert(decision_docx).startswith(b"%PDF-")
    assert sum(m.starts for m in pool.members) >= starts + 2


def test_externally_killed_soffice_is_restarted_and_retried(pool, decision_docx):
    pool.convert(decision_docx)  # make sure a member is running
    victims = [m for m in pool.members if m.soffice_pid()]
    assert victims
    starts = sum(m.starts for m in pool.members)
    for member in victims:
        os.kill(member.soffice_pid(), signal.SIGKILL)  # simulate a crash
    assert pool.convert(decision_docx).startswith(b"%PDF-")
    assert sum(m.starts for m in pool.members) == starts + 1


def test_member_that_died_between_conversions_is_restarted_before_use(pool, decision_docx, caplog):
    pool.convert(decision_docx)
    running = [m for m in pool.members if m.alive()]
    for member in running:
        os.killpg(member.process.pid, signal.SIGKILL)
        member.process.wait(10)
    starts = sum(m.starts for m in pool.members)
    with caplog.at_level("INFO", logger="zhifa.generator.pdf"):
        assert pool.convert(decision_docx).startswith(b"%PDF-")
    assert sum(m.starts for m in pool.members) == starts + 1
    assert "died" in caplog.text and "attempt 1 failed" not in caplog.text


def test_two_threads_convert_concurrently(pool, decision_docx, mixed_docx):
    barrier = threading.Barrier(2)
    results: dict[str, bytes | Exception] = {}

    def work(name: str, docx: bytes) -> None:
        barrier.wait()
        try:
            results[name] = pool.convert(docx)
        except Exception as exc:  # reported by the assert below
            results[name] = exc

    threads = [threading.Thread(target=work, args=a) for a in
               (("decision", decision_docx), ("mixed", mixed_docx))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(isinstance(r, bytes) and r.startswith(b"%PDF-") for r in results.values()), results
    assert len(results) == 2
    assert all(m.alive() for m in pool.members)   # both members worked, side by side


def test_members_are_recycled_after_their_quota_without_failing_a_conversion(tmp, fonts_conf, decision_docx):
    """soffice grows with every conversion: a member is started afresh after
    `recycle_after` of them, off the caller's path."""
    with PdfConverter(1, 60, fonts_conf, tmp / "recycled", recycle_after=2) as small:
        for _ in range(5):
            assert small.convert(decision_docx).startswith(b"%PDF-")
        member = small.members[0]
        assert member.starts >= 3 and small.stats["failures"] == 0
        assert small.restarts == member.starts - 1


GUARDED_POOL = """
import sys, time
from pathlib import Path
from services.generator.pdf import PdfConverter
pool = PdfConverter(1, 60, Path(sys.argv[1]), Path(sys.argv[2]))
pool.warm()
print(pool.members[0].soffice_pid(), flush=True)
time.sleep(600)
"""


def test_a_killed_process_leaves_no_libreoffice_behind(tmp, fonts_conf):
    """SIGKILL gives the pool no chance to close: the worker sees its stdin
    close and takes soffice down with it."""
    owner = subprocess.Popen([sys.executable, "-c", GUARDED_POOL, str(fonts_conf), str(tmp / "orphans")],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        soffice = int(owner.stdout.readline())
        os.kill(soffice, 0)                     # running
        owner.kill()
        owner.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (_alive(soffice) or _processes_using(tmp / "orphans")):
            time.sleep(0.1)
        assert not _alive(soffice), "soffice.bin outlived the process that started it"
        assert _processes_using(tmp / "orphans") == []
    finally:
        owner.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_non_docx_input_is_rejected_without_restarts(pool):
    starts = sum(m.starts for m in pool.members)
    with pytest.raises(ConversionError, match="not a DOCX"):
        pool.convert(b"%PDF-1.7 definitely not a word document")
    assert sum(m.starts for m in pool.members) == starts


def test_missing_uno_python_gives_conversion_error(tmp, fonts_conf, decision_docx, monkeypatch):
    monkeypatch.setenv("ZHIFA_UNO_PYTHON", str(tmp / "no-such-python"))
    with PdfConverter(1, 10, fonts_conf, tmp / "broken") as broken:
        with pytest.raises(ConversionError, match="uno not found"):
            broken.convert(decision_docx)


def _processes_using(path: Path) -> list[int]:
    """pids whose command line mentions path (e.g. a member's profile dir)."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            if str(path).encode() in cmdline:
                pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def large_docx(tmp) -> bytes:
    """A DOCX far larger than a pipe's buffer (64 KiB): a scanned-looking image
    of random noise (does not compress) and a line of text."""
    rng = random.Random(12)
    image = Image.frombytes("RGB", (640, 640), bytes(rng.getrandbits(8) for _ in range(640 * 640 * 3)))
    png = io.BytesIO()
    image.save(png, "PNG")
    doc = Document()
    _run(doc.add_paragraph(), "附件：现场照片", "仿宋_GB2312", 16)
    doc.add_picture(io.BytesIO(png.getvalue()))
    path = tmp / "large.docx"
    doc.save(path)
    data = path.read_bytes()
    assert len(data) > 1_000_000
    return data


def test_a_large_docx_converts_whole_through_memory_and_leaves_no_files(pool, tmp, large_docx, decision_docx):
    """The DOCX and the PDF travel over the worker's pipe, not temp files: a
    document of a megabyte and more arrives whole, and nothing is left on disk
    but each member's profile and log."""
    pdf = save(tmp, "large.pdf", pool.convert(large_docx))
    assert_pdfa2b(pdf)
    assert "附件：现场照片" in pdftext(pdf)
    with pikepdf.open(pdf) as doc:
        images = [x for x in doc.pages[0].Resources.XObject.values() if x.Subtype == "/Image"]
        assert images and images[0].Width >= 320   # the photo itself, not a placeholder
    # Back to back, so a conversion never reads the tail of the previous answer.
    assert "附件：现场照片" in pdftext(save(tmp, "large-2.pdf", pool.convert(large_docx)))
    assert BODY[:10] in pdftext(save(tmp, "after-large.pdf", pool.convert(decision_docx)))
    left = [p.relative_to(pool.work_dir) for p in pool.work_dir.glob("member-*/*")
            if p.name not in ("profile", "worker.log")]
    assert left == []


def test_the_docx_core_properties_become_the_pdfs_title_and_author(pool, tmp):
    """Loaded from memory, the DOCX still gives the PDF its Title and Author
    (no file name stands in for a missing title)."""
    doc = Document()
    _run(doc.add_paragraph(), TITLE, "方正小标宋简体", 22)
    doc.core_properties.title = "行政处罚决定书 鞍审批罚决字〔2026〕7号"
    doc.core_properties.author = "鞍山市行政审批局"
    path = tmp / "titled.docx"
    doc.save(path)
    with pikepdf.open(save(tmp, "titled.pdf", pool.convert(path.read_bytes()))) as pdf:
        assert str(pdf.docinfo["/Title"]) == "行政处罚决定书 鞍审批罚决字〔2026〕7号"
        assert str(pdf.docinfo["/Author"]) == "鞍山市行政审批局"
    untitled = tmp / "untitled.docx"
    Document().save(untitled)
    with pikepdf.open(save(tmp, "untitled.pdf", pool.convert(untitled.read_bytes()))) as pdf:
        assert "stream" not in str(pdf.docinfo.get("/Title", ""))


def test_a_stopped_worker_cannot_hold_a_large_docx_past_the_timeout(pool, large_docx):
    """A worker that stops reading (LibreOffice hung, the process stopped)
    leaves the DOCX unsent in a full pipe: the conversion still times out,
    the member is restarted and the retry succeeds."""
    pool.convert(large_docx)
    stopped = [m.process.pid for m in pool.members if m.alive()]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    starts = sum(m.starts for m in pool.members)
    result: dict = {}
    started = time.monotonic()
    worker = threading.Thread(target=lambda: result.update(pdf=pool.convert(large_docx, timeout=5)), daemon=True)
    try:
        worker.start()
        worker.join(180)
    finally:
        for pid in stopped:   # the member not used (if any) goes on as before
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
    assert not worker.is_alive(), "the conversion hung on a worker that does not read"
    assert result["pdf"].startswith(b"%PDF-")
    assert sum(m.starts for m in pool.members) == starts + 1
    assert time.monotonic() - started < 120


def assert_valid_pdfa2b(name: str, data: bytes) -> pikepdf.Pdf:
    """Two independent checks of the PDF/A-2b made from LibreOffice's plain PDF:
    pikepdf's allowlist validator (approves only constructs it knows to
    conform, so a pass is never a false one) and the archive's PDF/A rules,
    which every case file's items go through. Returns the opened PDF."""
    report = pdfa.validate_written(io.BytesIO(data), "2b")
    assert report.verdict == "pass", (name, [str(f) for f in report.findings][:10])
    doc = pikepdf.open(io.BytesIO(data))
    archive = pdfa_conformance(doc)
    assert archive.claim == "2B" and archive.conforms, (name, archive.problems)
    return doc


def test_every_document_type_is_a_pdfa_2b_that_validators_accept(pool):
    """Every template (the example data, QR code included), as the generator
    makes it: PDF/A-2b by the allowlist validator and the archive's rules,
    Info and XMP telling the same title, agency and creation date, every font
    embedded, and none of LibreOffice's tagging (the time it cost is what this
    PDF saves)."""
    from tests.generator.test_templates import TYPES, load, render_bytes
    docx = {t: render_bytes(t, load(t, "example")) for t in TYPES}
    with ThreadPoolExecutor(2) as both_members:
        pdfs = dict(zip(docx, both_members.map(pool.convert, docx.values())))
    for doc_type, data in pdfs.items():
        with assert_valid_pdfa2b(doc_type, data) as doc:
            meta = doc.open_metadata()
            title, author = str(doc.docinfo["/Title"]), str(doc.docinfo["/Author"])
            assert meta.get("dc:title") == title and "〔2026〕" in title, (doc_type, title)
            assert meta.get("dc:creator") == [author] and author.endswith("局"), (doc_type, author)
            assert meta.get("xmp:CreateDate", "").startswith(time.strftime("%Y-", time.gmtime())), doc_type
            assert "/CreationDate" in doc.docinfo
            assert doc.trailer.ID[0] and "/Encrypt" not in doc.trailer
            assert "/StructTreeRoot" not in doc.Root, doc_type
    decision = save(Path(pool.work_dir), "decision-type.pdf", pdfs["penalty_decision"])
    assert all(emb == "yes" for _, emb in pdffonts(decision))
    assert "行政处罚决定书" in pdftext(decision)


def test_content_beyond_our_templates_stays_pdfa_2b(pool, tmp):
    """What an uploaded template or an attachment may carry: a photo with
    transparency, a JPEG, Latin text in the standard fonts' families, a
    table, a second section in landscape. It still gives a PDF/A-2b both
    validators accept, with its text and photos in it; and a link annotation
    left without the print flag (LibreOffice 7.4 drops DOCX hyperlinks, but
    a later one may not) is made printable, as PDF/A asks."""
    doc = Document()
    _run(doc.add_paragraph(), "附件一：现场照片及说明", "仿宋_GB2312", 16)
    for mode, fmt in (("RGBA", "PNG"), ("RGB", "JPEG")):
        image = Image.new(mode, (120, 80), (200, 30, 30, 128) if mode == "RGBA" else (30, 90, 200))
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        buffer.seek(0)
        doc.add_picture(buffer)
    for font in ("Times New Roman", "Arial", "Courier New", "Symbol"):
        _run(doc.add_paragraph(), f"Exhibit A {font} 1234", font, 12)
    table = doc.add_table(rows=2, cols=2)
    table.style = "Table Grid"
    table.cell(0, 0).text, table.cell(1, 1).text = "当事人", "鞍山市某某有限公司"
    from docx.enum.section import WD_ORIENT
    landscape = doc.add_section()
    landscape.orientation, landscape.page_width, landscape.page_height = (
        WD_ORIENT.LANDSCAPE, landscape.page_height, landscape.page_width)
    _run(doc.add_paragraph(), "附件二：横向页", "黑体", 16)
    path = tmp / "beyond.docx"
    doc.save(path)
    data = pool.convert(path.read_bytes())
    with assert_valid_pdfa2b("beyond", data) as pdf:
        assert sum(1 for x in pdf.pages[0].Resources.XObject.values() if x.Subtype == "/Image") >= 2
        assert len(pdf.pages) == 2 and pdf.pages[1].mediabox[2] > pdf.pages[1].mediabox[3]
        link = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[72, 700, 200, 720], Border=[0, 0, 0],
            A=pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://zw.example.cn/verify?n=7"))))
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([link]))
        with_link = io.BytesIO()
        pdf.save(with_link)
    assert pdfa.validate_written(io.BytesIO(with_link.getvalue()), "2b").verdict != "pass"
    with assert_valid_pdfa2b("beyond with a link", complete_pdfa(with_link.getvalue())) as pdf:
        link = pdf.pages[0].Annots[0]
        assert int(link.F) & 4 and str(link.A.URI) == "https://zw.example.cn/verify?n=7"   # 4: Print
    text = pdftext(save(tmp, "beyond.pdf", data))
    assert "附件一：现场照片及说明" in text and "ExhibitATimesNewRoman1234" in text and "附件二：横向页" in text


def test_a_conversion_begun_on_a_free_member_gives_its_own_pdf_and_frees_the_member(pool, tmp, decision_docx,
                                                                                     mixed_docx):
    """begin() hands the DOCX to a free LibreOffice at once and returns; with every
    member busy it declines (the caller converts the waiting way). Each result is
    its own document's PDF/A; a cancelled one is read and dropped, and its member
    serves again."""
    pool.warm()
    first, second = pool.begin(decision_docx), pool.begin(mixed_docx)
    assert first is not None and second is not None
    assert pool.begin(decision_docx) is None            # both members busy
    mixed = save(tmp, "begun-mixed.pdf", second.result())
    decision = save(tmp, "begun-decision.pdf", first.result())
    assert "楷体引文直没" in pdftext(mixed) and BODY in pdftext(decision)
    assert_pdfa2b(decision)
    with pytest.raises(RuntimeError):
        first.result()                                   # one result per conversion
    dropped = pool.begin(decision_docx)
    assert dropped is not None and dropped.cancel() and not dropped.cancel()
    deadline = time.monotonic() + 60
    while pool._free.qsize() < pool.size and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool._free.qsize() == pool.size
    assert BODY in pdftext(save(tmp, "after-cancel.pdf", pool.convert(decision_docx)))


def test_a_begun_conversion_whose_libreoffice_dies_is_retried(pool, decision_docx):
    """LibreOffice killed after the DOCX was handed over: result() restarts it and
    converts again, as convert() does."""
    pool.warm()
    starts = sum(m.starts for m in pool.members)
    begun = pool.begin(decision_docx)
    assert begun is not None
    os.kill(begun._member.soffice_pid(), signal.SIGKILL)
    assert BODY[:10] in "".join(text_of(begun.result()))
    assert sum(m.starts for m in pool.members) == starts + 1


def text_of(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(out.stdout.decode().split())


def test_close_leaves_no_soffice_behind(pool, decision_docx):
    # Runs last in this module: it closes the shared pool.
    pool.convert(decision_docx)
    groups = [m.process.pid for m in pool.members if m.process]
    assert groups and any("soffice.bin" in group_processes(g).values() for g in groups)
    pool.close()
    time.sleep(0.2)
    assert all(not group_processes(g) for g in groups)
    assert _processes_using(pool.work_dir) == []
    with pytest.raises(ConversionError, match="closed"):
        pool.convert(decision_docx)


def test_pdf_metadata_names_the_document_and_the_agency_not_the_software(tmp, fonts_conf):
    """Title: the document's title and number; Author: the issuing agency (from the template's core properties)."""
    from tests.generator.test_templates import load, render_bytes
    docx = render_bytes("rectification_order", load("rectification_order", "example"))
    with PdfConverter(size=1, timeout=60, fonts_conf=fonts_conf, work_dir=tmp / "meta-pool") as converter:
        pdf = save(tmp, "meta.pdf", converter.convert(docx))
    with pikepdf.open(pdf) as doc:
        assert str(doc.docinfo["/Title"]) == "责令改正通知书 鞍审批责改字〔2026〕第12号"
        assert str(doc.docinfo["/Author"]) == "鞍山市营商环境建设局"
        with doc.open_metadata() as meta:
            assert meta.get("dc:title") == "责令改正通知书 鞍审批责改字〔2026〕第12号"
            assert "zhifa" not in str(meta.get("dc:creator"))


def test_a_conversion_begun_while_libreoffice_warms_up_waits_for_it(tmp, fonts_conf, decision_docx):
    """A server takes requests while its LibreOffice still starts (warm-up on a
    thread): begin() declines a member that is not ready, so the DOCX is never
    read as the worker's first line, and the conversion the waiting way works."""
    with PdfConverter(size=1, timeout=60, fonts_conf=fonts_conf, work_dir=tmp / "warming") as converter:
        warming = threading.Thread(target=converter.warm)
        warming.start()
        deadline = time.monotonic() + 30
        while not converter.members[0].alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert converter.members[0].alive() and warming.is_alive()   # started, not yet ready
        assert converter.begin(decision_docx) is None
        assert BODY in text_of(converter.convert(decision_docx))
        warming.join(60)
        assert converter.members[0].starts == 1 and converter.stats["failures"] == 0
