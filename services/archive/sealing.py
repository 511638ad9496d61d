"""The seal: a PAdES certification signature that allows no changes
(DocMDP P=1), with a visible red round stamp drawn in Chinese with an
embedded Simplified Chinese face (pyHanko's default stamp font cannot draw
Chinese), and an RFC 3161 timestamp when a TSA is configured.

Only signing lives here; checking a copy is verification.py (as pyHanko
keeps signing and validation apart).
"""
from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import signers, timestamps
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.stamp import TextStampStyle

from services.archive.faces import Faces
from services.archive.seal_keys import SealKey
from shared.dates import CHINA

FIELD_NAME = "ArchiveSeal"
SEAL_RED = (0.82, 0.08, 0.08)
# On the back note, over the end of the signature block (layout.back_note), in points.
MM = 72 / 25.4
SEAL_BOX = (110 * MM, (297 - 250) * MM, 160 * MM, (297 - 200) * MM)


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

    @property
    def _fixed_text(self) -> str:
        return self.archive_name + "档号"

    def warm(self) -> None:
        if self.faces:
            self.faces.small(self.stamp_font, self._fixed_text)

    def _font(self, text: str) -> GlyphAccumulatorFactory:
        """The stamp's face: a small one cut once per process for the archive's
        name, 档号 and ASCII (pyHanko subsets the face it is given on every
        signature: ~0.4 s for the full 65,000-glyph face), the full face for
        a text the small one cannot draw."""
        face = self.faces.for_text(self.stamp_font, self._fixed_text, text) if self.faces else self.stamp_font
        if face not in self._fonts:
            self._fonts[face] = GlyphAccumulatorFactory(str(face))
        return self._fonts[face]

    def seal(self, path: Path, archive_number: str, page_index: int) -> datetime:
        """Certify the file at `path` in place (one incremental update appended:
        the file is neither copied nor held in memory); the stamp sits on
        page `page_index` (the back note)."""
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
            subfilter=SigSeedSubFilter.PADES, md_algorithm="sha256", reason="电子档案封存",
            location=self.archive_name, name=self.key.subject)
        signer = signers.PdfSigner(meta, signer=self._signer, stamp_style=style, timestamper=self.timestamper,
                                   new_field_spec=SigFieldSpec(FIELD_NAME, on_page=page_index, box=SEAL_BOX))
        with open(path, "r+b") as fh:
            writer = IncrementalPdfFileWriter(fh, strict=False)
            signer.sign_pdf(writer, in_place=True, appearance_text_params=params)
        return sealed_at
