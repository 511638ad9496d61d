"""The seal: a PAdES certification signature that allows no changes
(DocMDP P=1), with a visible red round stamp drawn in Chinese with an
embedded Simplified Chinese face (pyHanko's default stamp font cannot draw
Chinese), and an RFC 3161 timestamp when a TSA is configured.

Only signing lives here; checking a copy is verification.py (as pyHanko
keeps signing and validation apart).
"""
from __future__ import annotations

import hashlib
import math
import re
import threading
from datetime import datetime
from pathlib import Path

from pyhanko.pdf_utils import misc

from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.stamp import TextStampStyle

from services.archive.faces import Faces
from services.archive.layout import SIGNATURE_BLOCK_RIGHT_MM, SIGNATURE_TOP_MM
from services.archive.seal_keys import SealKey
from shared.dates import CHINA

# -- one hash pass for the signature's digest and the sealed file's sha256 -----------
#
# pyHanko digests the byte ranges of the file (all of it but the signature's
# /Contents) by reading it in chunks through `misc.chunked_digest`: the first
# call reads [0, start of /Contents), which is nearly all of a 160 MB file.
# While a seal asks for it (`_shared`, per thread), those chunks also feed a
# SHA-256 of the whole file, and only the signature and the short update
# after it are read again afterwards. Without the hook (another pyHanko) the
# file is hashed on its own as before.
_shared = threading.local()
CHUNK = 1024 * 1024        # pyHanko's default is 4 KB: 40,000 reads and updates for 160 MB
_chunked_digest = misc.chunked_digest


def _digest_and_share(temp_buffer, stream, md, max_read=None):
    prefix = getattr(_shared, "prefix", None)
    if prefix is None or _shared.length is not None or stream.tell() != 0 or max_read is None:
        return _chunked_digest(temp_buffer, stream, md, max_read=max_read)
    for chunk in misc.chunk_stream(bytearray(CHUNK), stream, max_read=max_read):
        md.update(chunk)
        prefix.update(chunk)
    _shared.length = max_read


misc.chunked_digest = _digest_and_share


BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*0\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def file_sha256(path: Path, prefix=None, prefix_length: int = 0) -> tuple[str, int, int | None]:
    """(sha256, size, bytes reserved for the signature or None) of a sealed
    file. `prefix`: a hash of its first `prefix_length` bytes, continued when
    that is where the signature's byte range leaves off; else (or without
    it) the whole file is hashed."""
    with open(path, "rb") as fh:
        if prefix is not None:
            skip = min(4096, prefix_length)          # the signature dictionary starts before /Contents
            fh.seek(prefix_length - skip)
            tail = fh.read()
            size = prefix_length - skip + len(tail)
            for match in BYTE_RANGE.finditer(tail):
                start, end, rest = (int(v) for v in match.groups())
                if start == prefix_length and end + rest == size:
                    digest = prefix.copy()
                    digest.update(tail[skip:])
                    return digest.hexdigest(), size, end - start - 2     # hex digits, as pyHanko counts
            fh.seek(0)
        digest, size = hashlib.sha256(), 0
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, None


FIELD_NAME = "ArchiveSeal"
SEAL_RED = (0.82, 0.08, 0.08)
# On the back note, beside the signature block (layout.back_note), clear of its rules, in points.
MM = 72 / 25.4
SEAL_MM = 50


def seal_box(signature_top_mm: float = SIGNATURE_TOP_MM) -> tuple[float, float, float, float]:
    """The stamp's box in points: right of the signature rules, from 5 mm above the block's top (where the
    notes end at least 8 mm higher), so it covers neither the rules nor the notes."""
    top = signature_top_mm - 5
    return ((SIGNATURE_BLOCK_RIGHT_MM + 18) * MM, (297 - top - SEAL_MM) * MM,
            (SIGNATURE_BLOCK_RIGHT_MM + 18 + SEAL_MM) * MM, (297 - top) * MM)


SEAL_BOX = seal_box()


def ring(size: float) -> RawContent:
    """A red ring with a star at the top, drawn as vector paths: the body of a round seal."""
    r, c = size / 2 - 3, size / 2
    k = 0.5523 * r   # Bézier handle length for a quarter circle
    circle = (f"{c + r:.2f} {c:.2f} m "
              f"{c + r:.2f} {c + k:.2f} {c + k:.2f} {c + r:.2f} {c:.2f} {c + r:.2f} c "
              f"{c - k:.2f} {c + r:.2f} {c - r:.2f} {c + k:.2f} {c - r:.2f} {c:.2f} c "
              f"{c - r:.2f} {c - k:.2f} {c - k:.2f} {c - r:.2f} {c:.2f} {c - r:.2f} c "
              f"{c + k:.2f} {c - r:.2f} {c + r:.2f} {c - k:.2f} {c + r:.2f} {c:.2f} c S")
    star_r, star_c = size * 0.09, (c, c + r * 0.62)
    points = []
    for i in range(10):
        radius = star_r if i % 2 == 0 else star_r * 0.4
        angle = math.pi / 2 + i * math.pi / 5
        points.append((star_c[0] + radius * math.cos(angle), star_c[1] + radius * math.sin(angle)))
    star = " ".join(f"{x:.2f} {y:.2f} {'m' if i == 0 else 'l'}" for i, (x, y) in enumerate(points)) + " h f"
    red = "%.2f %.2f %.2f" % SEAL_RED
    data = f"q {red} RG {red} rg 3.5 w {circle} {star} Q".encode()
    return RawContent(data, box=BoxConstraints(width=size, height=size))


class Sealer:
    def __init__(self, key: SealKey, stamp_font: Path, archive_name: str, tsa_url: str | None = None,
                 timestamper: timestamps.TimeStamper | None = None, faces: Faces | None = None):
        self.key = key
        self._signer = key.signer()
        self.stamp_font = Path(stamp_font)
        self.faces = faces
        self._fonts: dict[Path, GlyphAccumulatorFactory] = {}
        self.archive_name = archive_name
        self.timestamper = timestamper or (timestamps.HTTPTimeStamper(tsa_url) if tsa_url else None)
        # Room for the signature, as pyHanko estimated it (with its margin) on
        # the first seal: later seals reuse it instead of signing a dummy first.
        self._reserved: int | None = None

    @property
    def _fixed_text(self) -> str:
        return self.archive_name + "档号"

    def warm(self, work_dir: Path | None = None) -> None:
        """Cut the stamp's face and, given a scratch directory, seal a
        one-page file once, so the first real seal needs no size estimate."""
        if self.faces:
            self.faces.small(self.stamp_font, self._fixed_text)
        if work_dir is not None and self._reserved is None:
            import tempfile
            import pikepdf
            Path(work_dir).mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=work_dir, prefix=".warm-") as tmp:
                with pikepdf.new() as pdf:
                    pdf.add_blank_page(page_size=(595, 842))
                    pdf.save(Path(tmp) / "warm.pdf")
                self.seal(Path(tmp) / "warm.pdf", "0", 0)

    def _font(self, text: str) -> GlyphAccumulatorFactory:
        """The stamp's face: a small one cut once per process for the archive's
        name, 档号 and ASCII (pyHanko subsets the face it is given on every
        signature: ~0.4 s for the full 65,000-glyph face), the full face for
        a text the small one cannot draw."""
        face = self.faces.for_text(self.stamp_font, self._fixed_text, text) if self.faces else self.stamp_font
        if face not in self._fonts:
            self._fonts[face] = GlyphAccumulatorFactory(str(face))
        return self._fonts[face]

    def seal(self, path: Path, archive_number: str, page_index: int, signature_top_mm: float = SIGNATURE_TOP_MM) -> datetime:
        """Certify the file at `path` in place (one incremental update appended:
        the file is neither copied nor held in memory); the stamp sits on
        page `page_index` (the back note)."""
        return self.seal_and_hash(path, archive_number, page_index, signature_top_mm)[0]

    def seal_and_hash(self, path: Path, archive_number: str, page_index: int,
                      signature_top_mm: float = SIGNATURE_TOP_MM) -> tuple[datetime, str, int]:
        """`seal`, and the sealed file's (sha256, size), mostly hashed in the
        same pass as the signature's digest."""
        sealed_at = datetime.now(CHINA).replace(microsecond=0)
        params = {"archive": self.archive_name, "number": archive_number,
                  "when": sealed_at.strftime("%Y-%m-%d %H:%M:%S")}
        size = SEAL_BOX[2] - SEAL_BOX[0]
        style = TextStampStyle(
            stamp_text="%(archive)s\n档号 %(number)s\n%(when)s",
            text_box_style=TextBoxStyle(font=self._font("".join(params.values())), font_size=8,
                                        text_color=SEAL_RED, leading=11),
            border_width=0, background=ring(size), background_opacity=1.0)
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME, certify=True, docmdp_permissions=MDPPerm.NO_CHANGES,
            subfilter=SigSeedSubFilter.PADES, md_algorithm=getattr(self.key, "md_algorithm", "sha256"),  # sm3: gm_seal
            reason="电子档案封存",
            location=self.archive_name, name=self.key.subject)
        signer = signers.PdfSigner(meta, signer=self._signer, stamp_style=style, timestamper=self.timestamper,
                                   new_field_spec=SigFieldSpec(FIELD_NAME, on_page=page_index,
                                                               box=seal_box(signature_top_mm)))
        _shared.prefix, _shared.length = hashlib.sha256(), None
        try:
            with open(path, "r+b") as fh:
                writer = IncrementalPdfFileWriter(fh, strict=False)
                signer.sign_pdf(writer, in_place=True, appearance_text_params=params, bytes_reserved=self._reserved,
                                chunk_size=CHUNK)
            prefix, length = _shared.prefix, _shared.length
        finally:
            _shared.prefix = _shared.length = None
        sha, size, reserved = file_sha256(path, prefix, length) if length is not None else file_sha256(path)
        if reserved and self._reserved is None:
            self._reserved = reserved
        return sealed_at, sha, size
