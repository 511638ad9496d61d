"""Fonts for rendering Chinese documents with LibreOffice.

Chinese templates name fonts that do not exist on a Linux host (仿宋_GB2312,
方正小标宋简体, ...). Without help LibreOffice falls back to a sans face, and
Noto CJK ships as collections whose first face is Japanese, so PDFs end up
embedding NotoSerifCJKjp with Japanese glyph forms. `install_fonts` writes the
Simplified Chinese faces as standalone files plus a fontconfig file that
aliases the template font names to them; point LibreOffice at it with
FONTCONFIG_FILE.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from shared.files import write_file

# Every font name the Chinese templates use, grouped by the face that stands in.
FANGSONG_NAMES = ("仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312")
XIAOBIAOSONG_NAMES = ("方正小标宋简体", "方正小标宋_GBK", "小标宋", "小标宋体")
SONG_NAMES = ("宋体", "SimSun", "NSimSun", "新宋体")
HEI_NAMES = ("黑体", "SimHei")
KAI_NAMES = ("楷体_GB2312", "楷体", "KaiTi", "KaiTi_GB2312")
TEMPLATE_FONT_NAMES = FANGSONG_NAMES + XIAOBIAOSONG_NAMES + SONG_NAMES + HEI_NAMES + KAI_NAMES

SERIF_SC = "Noto Serif CJK SC"
SANS_SC = "Noto Sans CJK SC"
KAI_CN = "AR PL UKai CN"
# Rare characters (生僻字, CJK Extension B and later) that the SC faces lack
# print in BabelStone Han (Debian fonts-babelstone-han); the SC faces stay
# first for everything they have.
RARE_FALLBACK = "BabelStone Han"
# Every face a document's text can be drawn with.
DOCUMENT_FAMILIES = (SERIF_SC, SANS_SC, KAI_CN, RARE_FALLBACK)

# Template font name -> family that replaces it. 仿宋 has no free Linux
# equivalent; a serif (Song/Ming) face is the closest look, never a sans one.
FONT_MAP: dict[str, str] = {
    **{name: SERIF_SC for name in FANGSONG_NAMES},
    **{name: SERIF_SC for name in XIAOBIAOSONG_NAMES},
    **{name: SERIF_SC for name in SONG_NAMES},
    **{name: SANS_SC for name in HEI_NAMES},
    **{name: KAI_CN for name in KAI_NAMES},
}
# 小标宋 is a heavy display face: prefer the Bold weight for it.
BOLD_NAMES = frozenset(XIAOBIAOSONG_NAMES)

NOTO_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/truetype/noto"))


@dataclass(frozen=True)
class _Face:
    collection: str  # file name of the .ttc collection
    family: str      # name ID 1 of the face to extract
    filename: str    # standalone file written into fonts_dir


FACES = (
    _Face("NotoSerifCJK-Regular.ttc", SERIF_SC, "NotoSerifCJKsc-Regular.otf"),
    _Face("NotoSerifCJK-Bold.ttc", SERIF_SC, "NotoSerifCJKsc-Bold.otf"),
    _Face("NotoSansCJK-Regular.ttc", SANS_SC, "NotoSansCJKsc-Regular.otf"),
)


def sc_serif_font_path(fonts_dir: Path) -> Path:
    """The standalone Noto Serif CJK SC Regular file (single face, usable by pyHanko)."""
    return Path(fonts_dir) / FACES[0].filename


def _find_collection(name: str) -> Path:
    for base in NOTO_DIRS:
        path = base / name
        if path.is_file():
            return path
    # Other layouts: ask fontconfig where the collection lives.
    if shutil.which("fc-list"):
        out = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True,
                             text=True, check=False).stdout
        for line in out.splitlines():
            if Path(line).name == name:
                return Path(line)
    raise FileNotFoundError(f"font collection {name} not found (install fonts-noto-cjk)")


def _rename_cff(font) -> None:
    """Give the face's CFF the face's own PostScript name.

    All faces of a Noto CJK collection share one CFF table named
    NotoSerifCJKjp-*, so PDFs would list a "jp" font even though the SC cmap
    selects Simplified Chinese glyphs. Recompiling the CFF with fontTools takes
    ~50 s per face; the "jp" and "sc" names have the same length, so patching
    the name bytes in place keeps every CFF offset valid.
    """
    from fontTools.ttLib.tables.DefaultTable import DefaultTable

    if "CFF " not in font:
        return
    cff = font["CFF "].cff
    old = cff.fontNames[0]
    new = font["name"].getDebugName(6)
    if not new or new == old:
        return
    if len(new) != len(old):
        raise ValueError(f"cannot rename CFF {old!r} to {new!r} in place")
    fd_names = [fd.FontName for fd in getattr(cff.topDictIndex[0], "FDArray", None) or []]
    raw = font.reader["CFF "]
    expected = 1 + sum(1 for name in fd_names if name.startswith(old))
    if raw.count(old.encode("ascii")) != expected:
        raise ValueError(f"unexpected CFF layout in {new}: refusing to patch names")
    table = DefaultTable("CFF ")
    table.data = raw.replace(old.encode("ascii"), new.encode("ascii"))
    font["CFF "] = table


def _extract_face(face: _Face, target: Path) -> None:
    from fontTools.ttLib import TTCollection

    # recalcBBoxes would need a parsed CFF; the outlines are unchanged anyway.
    collection = TTCollection(str(_find_collection(face.collection)), lazy=True,
                              recalcBBoxes=False)
    for font in collection.fonts:
        if font["name"].getDebugName(1) == face.family:
            _rename_cff(font)
            face_bytes = io.BytesIO()
            font.save(face_bytes)
            # Atomic, so a crash never leaves half a font; 0644: services may run as other users.
            write_file(target, face_bytes.getvalue(), mode=0o644)
            return
    raise LookupError(f"no face {face.family!r} in {face.collection}")


def _fonts_conf(fonts_dir: Path) -> str:
    d = escape(str(fonts_dir))
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
        "<!-- Written by shared/fonts.py; regenerated on every install_fonts(). -->",
        "<fontconfig>",
        # First cachedir that is writable receives new caches: keep ours first.
        f"  <cachedir>{d}/cache</cachedir>",
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>',
        f"  <dir>{d}</dir>",
        # Hide the Noto CJK collections: LibreOffice embeds their first (JP)
        # face, so only the standalone SC files in fonts_dir may match.
        "  <selectfont><rejectfont>",
        "    <glob>/usr/share/fonts/*/noto/NotoSerifCJK*</glob>",
        "    <glob>/usr/share/fonts/*/noto/NotoSansCJK*</glob>",
        "  </rejectfont></selectfont>",
    ]
    for name, family in FONT_MAP.items():
        n, f = escape(name), escape(family)
        lines.append(f'  <alias binding="same"><family>{n}</family>'
                     f"<prefer><family>{f}</family></prefer></alias>")
    # Appended after each stand-in face, so fontconfig's fallback list tries it
    # next for characters the face lacks instead of whatever face sorts first.
    for family in dict.fromkeys(FONT_MAP.values()):
        lines.append(f'  <alias binding="weak"><family>{escape(family)}</family>'
                     f"<accept><family>{escape(RARE_FALLBACK)}</family></accept></alias>")
    for generic in ("serif", "sans-serif", "monospace"):
        lines.append(f'  <alias binding="weak"><family>{generic}</family>'
                     f"<accept><family>{escape(RARE_FALLBACK)}</family></accept></alias>")
    for name in sorted(BOLD_NAMES):
        lines += [
            '  <match target="pattern">',
            f'    <test name="family"><string>{escape(name)}</string></test>',
            '    <edit name="weight" mode="assign" binding="strong"><const>bold</const></edit>',
            "  </match>",
        ]
    lines.append("</fontconfig>")
    return "\n".join(lines) + "\n"


def document_font_faces() -> list[tuple[Path, int]]:
    """(file, face index) of each family in DOCUMENT_FAMILIES as installed on this host.

    Found through the system fontconfig (the SC faces inside their collections
    have the same character map as the standalone files install_fonts writes).
    A family that is not installed is left out.
    """
    if not shutil.which("fc-list"):
        return []
    out = subprocess.run(["fc-list", "--format", "%{file}|%{index}|%{family}\n"],
                         env={k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"},
                         capture_output=True, text=True, check=False).stdout
    found: dict[str, tuple[Path, int]] = {}
    for line in sorted(out.splitlines(), key=lambda line: ("Bold" in line, line)):
        file, _, rest = line.partition("|")
        index, _, families = rest.partition("|")
        for family in families.split(","):
            if family in DOCUMENT_FAMILIES and family not in found and index.isdigit():
                found[family] = (Path(file), int(index))
    return [found[f] for f in DOCUMENT_FAMILIES if f in found]


def install_fonts(fonts_dir: Path) -> Path:
    """Write the SC faces and fonts.conf into fonts_dir; return the fonts.conf path.

    Idempotent: existing font files are kept, fonts.conf is rewritten only
    when its content changes (so fontconfig caches stay valid).
    """
    fonts_dir = Path(fonts_dir).resolve()
    fonts_dir.mkdir(parents=True, exist_ok=True)
    (fonts_dir / "cache").mkdir(exist_ok=True)
    for face in FACES:
        target = fonts_dir / face.filename
        if not (target.is_file() and target.stat().st_size > 0):
            _extract_face(face, target)

    conf = fonts_dir / "fonts.conf"
    text = _fonts_conf(fonts_dir)
    changed = not conf.is_file() or conf.read_text(encoding="utf-8") != text
    if changed:
        # Atomic, through a unique temp name: a server and its workers may start together.
        write_file(conf, text, mode=0o644)
    if changed and shutil.which("fc-cache"):
        # Build the cache once here instead of in every LibreOffice start.
        subprocess.run(["fc-cache"], env={**os.environ, "FONTCONFIG_FILE": str(conf)},
                       capture_output=True, check=False)
    return conf
