"""Small faces cut from the large Simplified Chinese faces, once per process.

Noto Serif CJK SC holds 65,000 glyphs in one CFF table: every time fpdf2 or
pyHanko opens it they parse it and subset it again (about 0.4 s a face,
each time). Text that is the same for every case file (the headings and
labels drawn in the bold face, the seal's archive name) only ever needs a
few dozen glyphs, so those faces are cut here once, to exactly the
characters they must draw plus printable ASCII, and reused; a text with a
character the small face lacks is drawn with the full face instead
(`Faces.for_text`), so nothing is ever drawn as a missing glyph.

Text that varies per case file (cover values, the contents list, the back
note) is drawn in the regular face: for it a larger face is cut once per
installation (`common_text`: GB 2312's symbols and level-1 hanzi, the 3,755
most used characters, plus ASCII; 12–25 s, on disk under the work
directory, cut in the background at start) and used whenever it covers the
case file's text; the full face otherwise, and until the cut is done
(`for_text(..., wait=False)`).

The cut face keeps the original names (pdffonts still shows NotoSerifCJKsc)
and its glyphs are the original outlines.
"""
from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from shared.files import write_file

ASCII = "".join(chr(c) for c in range(0x20, 0x7F))


def gb2312_common() -> str:
    """GB 2312's symbol rows (punctuation, full-width forms, numbers) and its
    level-1 hanzi (rows 16–55), with the punctuation as commonly typed
    (Python's codec maps GB 2312's middle dot and dash to other code points)."""
    chars = list("·—–…‘’“”•")
    for high in [*range(0xA1, 0xAA), *range(0xB0, 0xD8)]:
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(chars)


def _chars(text: str) -> str:
    return "".join(sorted(set(text) | set(ASCII)))


def cut_path(source: Path, text: str, target_dir: Path) -> Path:
    """Where the face cut from `source` for `text` is kept (named by the source and the characters)."""
    stat = source.stat()
    key = hashlib.sha256(f"{source.name}\0{stat.st_size}\0{stat.st_mtime_ns}\0desub\0{_chars(text)}".encode()).hexdigest()[:20]
    return Path(target_dir) / f"{source.stem}-{key}{source.suffix}"


def cut_face(source: Path, text: str, target_dir: Path) -> Path:
    """A face with the glyphs of `text` and printable ASCII only, written
    once under `target_dir` (named by its source and characters)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    chars = _chars(text)
    target = cut_path(source, text, target_dir)
    if target.exists():
        return target
    font = TTFont(str(source), lazy=True)
    cmap = font.getBestCmap()
    # Desubroutinized: the same outlines, and fpdf2 / pyHanko then subset the
    # cut face without tracing and pruning subroutines (0.09 s -> 0.03 s a document).
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, name_IDs=["*"], name_languages=["*"],
                             desubroutinize=True)
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
    for the life of the process; thread-safe (jobs run in threads), one lock
    per face so a long cut never holds up another face."""

    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir)
        self._lock = threading.Lock()
        self._locks: dict[tuple[Path, str], threading.Lock] = {}
        self._cut: dict[tuple[Path, str], Path] = {}
        self._chars: dict[Path, frozenset[str]] = {}

    def _face_lock(self, key: tuple[Path, str]) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def _load(self, key: tuple[Path, str]) -> Path:
        from fontTools.ttLib import TTFont
        face = cut_face(key[0], key[1], self.work_dir)
        with TTFont(str(face), lazy=True) as font:
            self._chars[face] = frozenset(chr(c) for c in font.getBestCmap())
        self._cut[key] = face
        return face

    def small(self, source: Path, text: str) -> Path:
        key = (Path(source), text)
        with self._face_lock(key):
            return self._cut.get(key) or self._load(key)

    def ready(self, source: Path, text: str) -> Path | None:
        """The face cut for `text` if it is cut already (by this process or an
        earlier one), without waiting for a cut under way."""
        key = (Path(source), text)
        if key in self._cut:
            return self._cut[key]
        lock = self._face_lock(key)
        if not lock.acquire(blocking=False):
            return None                       # being cut
        try:
            if key not in self._cut and cut_path(key[0], text, self.work_dir).exists():
                self._load(key)
            return self._cut.get(key)
        finally:
            lock.release()

    def for_text(self, source: Path, fixed: str, text: str, wait: bool = True) -> Path:
        """The small face cut for `fixed` when it can draw `text`, else `source`
        (also when `wait` is false and that face is not cut yet)."""
        face = self.small(source, fixed) if wait else self.ready(source, fixed)
        if face is None:
            return Path(source)
        chars = self._chars[face]
        return face if all(c in chars or c.isspace() for c in text) else Path(source)
