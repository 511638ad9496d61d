"""shared.fonts against the real fontconfig and LibreOffice (no fakes)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from fontTools.ttLib import TTFont

from shared import fonts
from shared.fonts import TEMPLATE_FONT_NAMES, install_fonts, sc_serif_font_path


@pytest.fixture(scope="module")
def fonts_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fonts")
    install_fonts(d)
    return d


def fc_match(conf: Path, name: str) -> tuple[str, str, str]:
    out = subprocess.run(["fc-match", "-f", "%{family[0]}|%{style[0]}|%{file}", name],
                         env={**os.environ, "FONTCONFIG_FILE": str(conf)},
                         capture_output=True, text=True, check=True).stdout
    family, style, file = out.split("|")
    return family, style, file


def test_install_writes_standalone_sc_faces_and_conf(fonts_dir):
    conf = fonts_dir / "fonts.conf"
    assert conf.is_file()
    text = conf.read_text(encoding="utf-8")
    assert '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>' in text
    assert f"<dir>{fonts_dir.resolve()}</dir>" in text
    for face in fonts.FACES:
        path = fonts_dir / face.filename
        font = TTFont(path, lazy=True)  # raises if it were a collection
        assert font["name"].getDebugName(1) == face.family
        # The CFF carries the face's own name, so PDFs list "sc", not "jp".
        assert "CJKsc" in font["CFF "].cff.fontNames[0]


def test_install_is_idempotent(fonts_dir):
    before = {p.name: p.stat().st_mtime_ns for p in fonts_dir.iterdir() if p.is_file()}
    assert install_fonts(fonts_dir) == fonts_dir.resolve() / "fonts.conf"
    after = {p.name: p.stat().st_mtime_ns for p in fonts_dir.iterdir() if p.is_file()}
    assert after == before


def test_sc_serif_font_path_is_single_regular_sc_face(fonts_dir):
    path = sc_serif_font_path(fonts_dir)
    font = TTFont(path, lazy=True)
    assert font["name"].getDebugName(1) == "Noto Serif CJK SC"
    assert font["name"].getDebugName(2) == "Regular"
    assert font.getBestCmap()[ord("复")]  # draws Chinese


EXPECTED = {
    **{n: ("Noto Serif CJK SC", "Regular") for n in fonts.FANGSONG_NAMES + fonts.SONG_NAMES},
    **{n: ("Noto Serif CJK SC", "Bold") for n in fonts.XIAOBIAOSONG_NAMES},
    **{n: ("Noto Sans CJK SC", "Regular") for n in fonts.HEI_NAMES},
    **{n: ("AR PL UKai CN", "Book") for n in fonts.KAI_NAMES},
}


@pytest.mark.parametrize("name", TEMPLATE_FONT_NAMES)
def test_template_font_names_resolve_to_sc_faces(fonts_dir, name):
    family, style, file = fc_match(fonts_dir / "fonts.conf", name)
    assert (family, style) == EXPECTED[name]
    if family.startswith("Noto"):
        # The standalone SC file, never the collection whose first face is JP.
        assert Path(file).parent == fonts_dir.resolve()


def test_japanese_collections_are_hidden(fonts_dir):
    family, _, file = fc_match(fonts_dir / "fonts.conf", "serif:lang=ja")
    assert family == "Noto Serif CJK SC" and not file.endswith(".ttc")


def test_pdf_from_cli_embeds_sc_serif_for_fangsong(fonts_dir, tmp_path):
    from services.generator.pdf import convert_with_soffice_cli

    doc = Document()
    run = doc.add_paragraph().add_run("复骨直没说")
    run.font.name = "仿宋_GB2312"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋_GB2312")
    src = tmp_path / "t.docx"
    doc.save(src)
    pdf = tmp_path / "t.pdf"
    pdf.write_bytes(convert_with_soffice_cli(src.read_bytes(), fonts_dir / "fonts.conf", tmp_path))
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    names = [line.split()[0].split("+")[-1] for line in listing]
    assert names and all(n.startswith("NotoSerifCJKsc-") for n in names), names


# --- rare characters (生僻字) ----------------------------------------------------------

RARE = "𠀀𪚥𤭢"            # CJK Extension B: not in Noto CJK SC
RARE_NAMES = "张𠀀 李𪚥 王𤭢 刘䶮 赵𫖯 孙𬌗 周喆 吴堃"


def fc_sort(conf: Path, pattern: str) -> list[str]:
    out = subprocess.run(["fc-match", "-s", "-f", "%{family[0]}\n", pattern],
                         env={**os.environ, "FONTCONFIG_FILE": str(conf)},
                         capture_output=True, text=True, check=True).stdout
    return out.splitlines()


@pytest.mark.parametrize("name", ["仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312"])
def test_rare_fallback_comes_right_after_the_stand_in_face(fonts_dir, name):
    families = fc_sort(fonts_dir / "fonts.conf", name)
    expected_first = EXPECTED[name][0]
    assert families[:2] == [expected_first, fonts.RARE_FALLBACK]


def test_a_face_for_an_extension_b_character_is_babelstone(fonts_dir):
    family, _, _ = fc_match(fonts_dir / "fonts.conf", "仿宋_GB2312:charset=20000")
    assert family == fonts.RARE_FALLBACK


def test_rare_names_are_printable_and_unknown_characters_refused():
    from shared.glyphs import unprintable_errors

    assert unprintable_errors({"party": {"name": RARE_NAMES, "address": "铁东区 1号\t，ABC"}}) == []
    # A private-use character and an Egyptian hieroglyph: no document face has them.
    errors = unprintable_errors({"party": {"name": "张\U000f0001", "ok": "张三"}, "list": ["\U00013000"]})
    assert [e.path for e in errors] == ["data/party/name", "data/list/0"]
    assert "U+F0001" in errors[0].message and "无法打印" in errors[0].message


def test_glyph_check_is_fast_after_the_first_call():
    import time

    from shared.glyphs import unprintable_errors

    unprintable_errors({"warm": "x"})
    data = {"facts": "当事人于2026年6月迁址" * 500, "names": [RARE_NAMES] * 100}
    start = time.perf_counter()
    for _ in range(10):
        assert unprintable_errors(data) == []
    assert (time.perf_counter() - start) / 10 < 0.02


def test_pdf_prints_extension_b_with_babelstone_and_keeps_sc_for_the_rest(fonts_dir, tmp_path):
    from services.generator.pdf import PdfConverter

    doc = Document()
    run = doc.add_paragraph().add_run(f"当事人：张{RARE}，法定代表人复骨直没说")
    run.font.name = "仿宋_GB2312"
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), "仿宋_GB2312")
    src = tmp_path / "rare.docx"
    doc.save(src)
    with PdfConverter(size=1, timeout=60, fonts_conf=fonts_dir / "fonts.conf", work_dir=tmp_path / "pool") as pool:
        pdf_bytes = pool.convert(src.read_bytes())
    pdf = tmp_path / "rare.pdf"
    pdf.write_bytes(pdf_bytes)
    listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                             check=True).stdout.splitlines()[2:]
    names = {line.split()[0].split("+")[-1] for line in listing}
    assert any(n.startswith("BabelStoneHan") for n in names), names
    assert any(n.startswith("NotoSerifCJKsc-") for n in names), names
    assert not any("jp" in n.lower() for n in names), names
    text = "".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                  check=True).stdout.split())
    assert f"张{RARE}" in text
