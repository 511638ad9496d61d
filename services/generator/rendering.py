"""Filling a Word template: dates in Chinese, the verification QR code, docxtpl."""
from __future__ import annotations

import io
import re
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import qrcode
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Names the generator adds to every document's context besides the case data;
# `agency` and `deadlines` are dicts (see template_lint for their fields).
GENERATED_SCALARS = frozenset({"number", "issued_on", "doc_title", "remedy_clause", "verification_code",
                               "verify_url", "verify_page", "verify_qr"})
GENERATED_DICTS = frozenset({"agency", "deadlines"})


def chinese_date(d: date) -> str:
    """GB/T 9704-2012 writes dates with arabic numerals: 2026年11月27日."""
    return f"{d.year}年{d.month}月{d.day}日"


def printable(value):
    """Case data as it is printed: ISO dates as Chinese dates, amounts without
    a stray ".0" (20000.0 → 20000, 1234.5 → 1234.50), paragraphs indented."""
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v) for v in value]
    if isinstance(value, str) and (m := _ISO_DATE.match(value)):
        return chinese_date(date(int(m[1]), int(m[2]), int(m[3])))
    if isinstance(value, str) and "\n" in value:
        # docxtpl prints a newline as a line break; a new paragraph of Chinese
        # text starts indented by two characters, like the paragraph before it.
        lines = [line.strip(" \t\r\u3000") for line in value.strip().split("\n")]
        return "\n\u3000\u3000".join(line for line in lines if line)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.2f}"
    return value


def verify_url(search_url: str, number: str, code: str) -> str:
    return f"{search_url}/verify?{urlencode({'number': number, 'code': code})}"


def qr_png(text: str) -> bytes:
    # A fixed mask is as readable as the "best" one and skips scoring all eight
    # (that scoring was half of a DOCX's render time).
    qr = qrcode.QRCode(box_size=6, border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=0)
    qr.add_data(text)
    img = qr.make_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


class _CompiledOnceEnvironment(Environment):
    """docxtpl compiles every XML part of a template on every render; a part's
    source never changes between renders, so compile each one once (this was
    a third of a DOCX's render time). Compiled templates are thread-safe."""

    @lru_cache(maxsize=256)
    def from_string(self, source, globals=None, template_class=None):
        return super().from_string(source, globals, template_class)


_JINJA = _CompiledOnceEnvironment(autoescape=True)


def render_docx(template_path: Path, context: dict, qr_target: str) -> bytes:
    """Render one document; `qr_target` is the URL the printed QR code encodes."""
    missing = (GENERATED_SCALARS | GENERATED_DICTS) - {"verify_qr"} - context.keys()
    if missing:   # a template would silently print nothing where these belong
        raise ValueError(f"render context lacks {sorted(missing)}")
    tpl = DocxTemplate(str(template_path))
    context = dict(context, verify_qr=InlineImage(tpl, io.BytesIO(qr_png(qr_target)), width=Mm(20)))
    tpl.render(context, jinja_env=_JINJA, autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()
