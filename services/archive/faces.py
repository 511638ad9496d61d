"""Small faces cut from the large Simplified Chinese faces, once per process.

Noto Serif CJK SC holds 65,000 glyphs in one CFF table: every time fpdf2 or
pyHanko opens it they parse it and subset it again (about 0.4 s a face,
each time). Text that is the same for every case file (the headings and
labels drawn in the bold face, the seal's archive name) only ever needs a
few dozen glyphs, so those faces are cut here once, to exactly the
characters they must draw plus printable ASCII, and reused; a text with a
character the small face lacks is drawn with the full face instead
(`Faces.for_text`), so nothing is ever drawn as a missing glyph.

The cut face keeps the original names (pdffonts still shows NotoSerifCJKsc)
and its glyphs are the original outlines.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from shared.files import write_file

ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def cut_face(source: Path, text: str, target_dir: Path) -> Path:
    """A face with the glyphs of `text` and printable ASCII only, written
    once under `target_dir` (named by its source and characters)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    chars = "".join(sorted(set(text) | set(ASCII)))
    stat = source.stat()
    key = hashlib.sha256(f"{source.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0{chars}".encode()).hexdigest()[:20]
    target = Path(target_dir) / f"{source.stem}-{key}{source.suffix}"
    if target.exists():
        return target
    font = TTFont(str(source), lazy=True)
    cmap = font.getBestCmap()
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, name_IDs=["*"], name_languages=["*"])
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in chars if ord(c) in cmap])
    subsetter.subset(font)
    from io import BytesIO
    out = BytesIO()
    font.save(out)
    font.close()
    write_file(target, out.getvalue(), 0o644)
    return target


def covered(face: Path, text: str) -> bool:
    from fontTools.ttLib import TTFont
    with TTFont(str(face), lazy=True) as font:
        cmap = font.getBestCmap()
    return all(ord(c) in cmap for c in set(text) if not c.isspace())


class Faces:
    """One small face per (source, fixed text), cut on first use and kept
    for the life of the process; thread-safe (jobs run in threads)."""

    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir)
        self._lock = threading.Lock()
        self._cut: dict[tuple[Path, str], Path] = {}
        self._chars: dict[Path, frozenset[str]] = {}

    def small(self, source: Path, text: str) -> Path:
        key = (Path(source), text)
        with self._lock:
            if key not in self._cut:
                face = cut_face(Path(source), text, self.work_dir)
                from fontTools.ttLib import TTFont
                with TTFont(str(face), lazy=True) as font:
                    self._chars[face] = frozenset(chr(c) for c in font.getBestCmap())
                self._cut[key] = face
            return self._cut[key]

    def for_text(self, source: Path, fixed: str, text: str) -> Path:
        """The small face cut for `fixed` when it can draw `text`, else `source`."""
        face = self.small(source, fixed)
        chars = self._chars[face]
        return face if all(c in chars or c.isspace() for c in text) else Path(source)
