"""Domain units without HTTP: binding order, page ranges, page-number
placement on rotated pages, the ledger chain, first-run seal key files."""
from __future__ import annotations

import io
import os
import stat
import subprocess
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import update

from services.archive import ledger, seal_keys
from services.archive.assembly import visual_to_user
from services.archive.binding import BindingRules, page_ranges
from services.archive.models import Base, Ledger
from shared.db import create_schema, make_engine, session_factory, transaction

RULES = BindingRules.load()


def item(position, category, doc_type=None, day=1, pages=1, number=None, refers_to=None):
    return SimpleNamespace(position=position, category=category, doc_type=doc_type, date=date(2026, 3, day), pages=pages,
                           number=number, refers_to=refers_to)


def test_penalty_binding_decision_and_its_receipt_first_then_the_procedure_in_time_then_the_secondary_volume():
    rules = RULES.get("penalty")
    items = [item(1, "photo", day=4), item(2, "record", "inquiry_record", day=3),
             item(3, "notice", "service_receipt", day=20, refers_to="鞍审批罚决字[2026]第 5 号"),   # the decision's receipt
             item(4, "approval", "case_filing_form", day=1), item(5, "decision", "penalty_decision", day=18,
                                                                  number="鞍审批罚决字〔2026〕第5号"),
             item(6, "notice", "penalty_prior_notice", day=10), item(7, "approval", "case_closing_form", day=25),
             item(8, "identity", day=2), item(9, "documentary", day=5), item(10, "notice", "service_receipt", day=11,
                                                                            refers_to="鞍审批罚告字〔2026〕第5号"),
             item(11, "record", "statement_defence_record", day=14), item(12, "approval", "legal_review_opinion", day=16),
             item(13, "discussion", day=17), item(14, "execution", day=28)]
    ordered = rules.order(items)
    assert [i.position for i in ordered] == [5, 3, 8, 2, 1, 9, 6, 11, 10, 14, 4, 12, 13, 7]
    assert [rules.volume(i) for i in ordered][-4:] == ["副卷"] * 4
    assert {rules.volume(i) for i in ordered[:-4]} == {"正卷"}


def test_uploads_in_a_group_follow_their_dates():
    rules = RULES.get("license")
    items = [item(1, "photo", day=9), item(2, "photo", day=3), item(3, "photo", day=5)]
    assert [i.position for i in rules.order(items)] == [2, 3, 1]


def test_page_ranges_are_consecutive_and_refuse_empty_items():
    assert page_ranges([3, 1, 2]) == [(1, 3), (4, 4), (5, 6)]
    with pytest.raises(ValueError):
        page_ranges([1, 0])


def test_required_documents_per_case_type():
    assert ("license_grant_decision", "license_denial_decision") in RULES.get("license").required
    assert ("penalty_decision",) in RULES.get("penalty").required


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_page_number_lands_top_right_as_shown_on_a_rotated_page(rotate, tmp_path):
    """Draw a mark at the visual top-right corner through the matrix, render
    the page with poppler and look where the ink is."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(400, 600))
    page.obj.Rotate = rotate
    w, h = (600, 400) if rotate in (90, 270) else (400, 600)
    matrix = " ".join(f"{v:g}" for v in visual_to_user(rotate, [0, 0, 400, 600]))
    page.obj.Contents = pdf.make_stream(f"q {matrix} cm 0 g {w - 60} {h - 60} 40 40 re f Q".encode())
    pdf.save(tmp_path / "r.pdf")
    subprocess.run(["pdftoppm", "-png", "-r", "18", "-singlefile", str(tmp_path / "r.pdf"), str(tmp_path / "r")], check=True)
    img = Image.open(tmp_path / "r.png").convert("L")
    dark = [(x, y) for x in range(img.width) for y in range(img.height) if img.getpixel((x, y)) < 100]
    assert dark and all(x > img.width / 2 and y < img.height / 2 for x, y in dark)


def test_ledger_chain_shows_an_edited_entry(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'l.sqlite3'}")
    create_schema(engine, Base.metadata)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        first = ledger.record(session, "cf-1", "A-1", "a" * 64)
        second = ledger.record(session, "cf-2", "A-2", "b" * 64)
    assert second["prev_hash"] == first["hash"]
    book = ledger.LedgerBook(sessions)
    assert book.entries(0, 10)["intact"] and book.find("b" * 64)["sequence"] == 2
    with transaction(sessions) as session:
        session.execute(update(Ledger).where(Ledger.c.seq == 1).values(sha256="c" * 64))
    assert book.entries(0, 10) == {**book.entries(0, 10), "intact": False, "broken_at": 1}


def test_first_run_makes_a_local_ca_and_seal_with_private_files(tmp_path):
    key = seal_keys.load(None, None, tmp_path / "seal", "测试档案室")
    assert stat.S_IMODE(os.stat(tmp_path / "seal").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "seal" / "seal.p12").st_mode) == 0o600
    assert "测试档案室" in key.subject and key.trust_roots[0].subject != key.certificate.subject
    # The seal certificate is the CA's, but the CA's private key is nowhere on the server.
    key.certificate.verify_directly_issued_by(key.trust_roots[0])
    leftovers = {p.name: p.read_bytes() for p in (tmp_path / "seal").iterdir() if p.is_file()}
    assert set(leftovers) <= {"seal.p12", "ca.pem", ".lock"}
    assert not any(b"PRIVATE KEY" in data for data in leftovers.values())
    again = seal_keys.load(None, None, tmp_path / "seal", "测试档案室")
    assert again.certificate == key.certificate            # made once, then reused


def test_small_faces_draw_their_text_and_give_way_to_the_full_face(tmp_path):
    from fontTools.ttLib import TTFont
    from services.archive.faces import Faces
    # The installed fonts, wherever the run starts (a relative build/fonts failed when another test moved the cwd).
    full = Path(os.environ.get("ZHIFA_FONTS_DIR", "build/fonts")) / "NotoSerifCJKsc-Bold.otf"
    faces = Faces(tmp_path)
    small = faces.for_text(full, "鞍山市行政审批局档号", "鞍山市行政审批局 档号 A012-2026-Y-0007")
    assert small != full and small.stat().st_size < full.stat().st_size / 50
    with TTFont(str(small)) as font:
        assert {ord(c) for c in "鞍山市行政审批局档号A0-:"} <= set(font.getBestCmap())
        assert "NotoSerifCJKsc" in font["name"].getDebugName(6)
    assert faces.for_text(full, "鞍山市行政审批局档号", "档号 永久-0001") == full    # 永久 is not in the small face


def test_regular_face_is_the_common_cut_once_warm_and_the_full_face_for_rarer_text(tmp_path):
    from services.archive.faces import Faces
    from services.archive.layout import PageMaker
    common = "鞍山市行政审批局档号现场照片"
    pages = PageMaker(Path("build/fonts"), Faces(tmp_path), common=common)
    regular = lambda doc: Path(doc.fonts["serif"].ttffile).resolve()      # noqa: E731
    assert regular(pages.document(regular_text="现场照片 12")) == pages.regular.resolve()   # not cut yet: no wait
    pages.warm()
    assert regular(pages.document(regular_text="现场照片 12")).parent == tmp_path
    assert regular(pages.document(regular_text="现场照片 龘")) == pages.regular.resolve()
    assert regular(pages.document()) == pages.regular.resolve()             # text unknown: the full face


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_numbers_drawn_into_rotated_pages_land_recto_top_right_verso_top_left(rotate, tmp_path):
    """The real path: numbers laid out by PageMaker, drawn into the pages'
    own content by the assembler; poppler shows where the ink is."""
    from services.archive.assembly import Assembler, page_geometry
    from services.archive.layout import Cover, PageMaker
    pages = PageMaker(Path("build/fonts"))
    doc = pages.document(regular_text="A-1")
    cover = pages.cover(doc, Cover("封面", [("档号", "A-1")]))
    content = pikepdf.new()
    for _ in range(2):
        content.add_blank_page(page_size=(400, 600)).obj.Rotate = rotate
    geometry = [page_geometry(p) for p in content.pages]
    numbers = pages.page_numbers(doc, [(n, w, h) for n, (w, h, _, _) in enumerate(geometry, 1)])
    own = pikepdf.open(io.BytesIO(pages.render(doc)))
    out = pikepdf.new()
    out.pages.extend([own.pages[i] for i in cover])
    out.pages.extend(content.pages)
    Assembler(None, pages, tmp_path)._number_pages(out, numbers, len(cover), geometry, [range(len(cover))])
    out.save(tmp_path / "n.pdf")
    for number in (1, 2):
        page = len(cover) + number
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", "-f", str(page), "-l", str(page),
                        str(tmp_path / "n.pdf"), str(tmp_path / f"n{number}")], check=True)
        img = Image.open(tmp_path / f"n{number}.png").convert("L")
        dark = [(x, y) for x in range(img.width) for y in range(img.height) if img.getpixel((x, y)) < 200]
        right = number % 2 == 1
        assert dark and all((x > img.width / 2) == right and y < img.height / 4 for x, y in dark), (number, dark[:5])
    text = subprocess.run(["pdftotext", "-f", str(len(cover) + 2), "-l", str(len(cover) + 2), str(tmp_path / "n.pdf"), "-"],
                          capture_output=True, text=True, check=True).stdout
    assert text.strip() == "2"


@pytest.mark.parametrize("text", [
    "鞍山市行政审批局关于准予鞍山市铁东区示例餐饮有限公司食品经营许可的决定书，附送达回证〔2026〕第12号。",
    "（鞍审批罚决字〔2026〕第1号）行政处罚决定书，送达回证；询问笔录：第一次、第二次。",
    "一二三四五六七，〔八〕九十。（二〇二六）”。甲乙〔2026〕，丙",
])
@pytest.mark.parametrize("width", [4, 5, 7, 9])
def test_contents_lines_never_start_with_closing_or_end_with_opening_marks(text, width):
    from services.archive.layout import NO_LINE_END, NO_LINE_START, wrap_cjk
    lines = wrap_cjk(text, width, len)
    assert "".join(lines) == text
    assert all(len(line) <= width for line in lines)
    assert not any(line[0] in NO_LINE_START for line in lines[1:]), lines
    assert not any(line[-1] in NO_LINE_END for line in lines[:-1]), lines
