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
