"""Filling a Word template: dates and amounts in Chinese, the verification QR
code, and the DOCX itself.

`render_docx` gives the output docxtpl's `DocxTemplate.render(); save()` gives,
without its cost: each template is read and compiled once (per path and file
version), only the parts that hold placeholders (document body, headers,
footers, footnotes) are rendered and compressed per document, and every other
part of the package (styles, fonts, theme, media…) is copied into the output
as the compressed bytes it has in the template.
"""
from __future__ import annotations

import io
import itertools
import math
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

import qrcode
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.shape import CT_Inline
from docx.shared import Mm
from docxtpl import DocxTemplate
from jinja2 import Environment, Template
from lxml import etree

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")

# Names the generator adds to every document's context besides the case data;
# `agency` and `deadlines` are dicts (see template_lint for their fields).
GENERATED_SCALARS = frozenset({"number", "issued_on", "doc_title", "remedy_clause", "verification_code",
                               "verify_url", "verify_page", "verify_qr", "warning_only", "registered_on"})
GENERATED_DICTS = frozenset({"agency", "deadlines"})


# ---- printed values ---------------------------------------------------------------

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
        return _printed_float(value)
    return value


def _printed_float(value: float) -> str:
    """The number the data says, never rounded: whole numbers without ".0",
    yuan and fen with two decimals, anything finer in full."""
    if not math.isfinite(value):
        raise ValueError(f"cannot print the number {value!r}")
    exact = Decimal(repr(value))     # the shortest decimal that reads back as this float
    if exact == exact.to_integral_value():
        return f"{exact:f}".split(".")[0]
    if exact == exact.quantize(_CENT):
        return f"{exact.quantize(_CENT):f}"
    return f"{exact:f}"


_CENT = Decimal("0.01")
_PLAIN_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_MAX_YUAN = 10 ** 16          # the largest section name below is 万亿
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿", "万亿")


def amount_cn(value) -> str:
    """An amount of yuan the way penalty documents print it, in capitals with
    the figure after: 10010.05 → 人民币壹万零壹拾元零伍分（¥10,010.05）.

    Accepts int, float, Decimal, or the decimal text `printable` makes of a
    float; raises ValueError for a negative or non-finite amount or one with
    more than two decimals (it is never rounded)."""
    cents = _cents(value)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    words = _integer_cn(yuan) + "元" if yuan else ""
    if jiao == fen == 0:
        words = (words or "零元") + "整"
    else:
        if jiao:
            words += _DIGITS[jiao] + "角"
        elif yuan:
            words += "零"                     # 壹元零伍分: the 角 place is empty
        if fen:
            words += _DIGITS[fen] + "分"
    return f"人民币{words}（¥{yuan:,}.{cents % 100:02d}）"


def _cents(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise TypeError(f"an amount must be a number, not {type(value).__name__}")
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.fullmatch(value):
            raise ValueError(f"not an amount: {value!r}")
        amount = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not an amount: {value!r}")
        amount = Decimal(repr(value))
    else:
        amount = Decimal(value)
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not an amount: {value!r}")
    if amount >= _MAX_YUAN:
        raise ValueError(f"amount too large: {value!r}")
    if amount.quantize(_CENT) != amount:     # exact comparison: nothing is rounded away
        raise ValueError(f"an amount has at most two decimals: {value!r}")
    return int(amount.quantize(_CENT) * 100)


def _integer_cn(n: int) -> str:
    """Whole yuan in capitals, four-digit sections (万, 亿): one 零 stands for
    the zeros between two written digits, also across sections."""
    sections = []
    while n:
        n, section = divmod(n, 10000)
        sections.append(section)
    words, skipped_zeros = "", False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            skipped_zeros = True
            continue
        if words and (skipped_zeros or section < 1000):
            words += "零"
        words += _section_cn(section) + _SECTIONS[index]
        skipped_zeros = False
    return words


def _section_cn(section: int) -> str:
    """1..9999 in capitals, every digit with its numeral (壹拾, not 拾)."""
    words, zeros = "", False
    for place in (3, 2, 1, 0):
        digit = section // 10 ** place % 10
        if digit == 0:
            zeros = bool(words)
            continue
        if zeros:
            words += "零"
            zeros = False
        words += _DIGITS[digit] + _PLACES[place]
    return words


# ---- the verification QR code -------------------------------------------------------

def verify_url(search_url: str, number: str, code: str) -> str:
    return f"{search_url}/verify?{urlencode({'number': number, 'code': code})}"


QR_PIXELS_PER_MODULE = 6
QR_WIDTH = Mm(20)


def qr_png(text: str) -> bytes:
    """The QR code of `text` as a black-and-white PNG of a few hundred bytes."""
    # A fixed mask is as readable as the "best" one and skips scoring all eight.
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=0)
    qr.add_data(text)
    qr.make()
    return _one_bit_png(qr.get_matrix(), QR_PIXELS_PER_MODULE)


def _one_bit_png(modules: list[list[bool]], scale: int) -> bytes:
    """A 1-bit greyscale PNG (0 = black) of a square matrix of dark modules."""
    side = len(modules) * scale
    padding = -side % 8
    rows = []
    for row in modules:
        bits = "".join(("0" if dark else "1") * scale for dark in row) + "1" * padding
        line = b"\0" + int(bits, 2).to_bytes((side + padding) // 8, "big")   # filter type 0, then pixels
        rows.extend([line] * scale)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)   # bit depth 1, greyscale
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _png_chunk(b"IEND", b""))


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ---- rendering ---------------------------------------------------------------------

def _jinja_environment() -> Environment:
    env = Environment(autoescape=True)
    env.filters["amount_cn"] = amount_cn
    return env


# The environment templates are rendered in: autoescaped (data is printed, not
# interpreted as markup) and with the filters templates may use.
JINJA_ENV = _jinja_environment()


def render_docx(template_path: Path, context: dict, qr_target: str) -> bytes:
    """Render one document; `qr_target` is the URL the printed QR code encodes.
    Thread-safe: concurrent renders share only the read-only loaded template."""
    missing = (GENERATED_SCALARS | GENERATED_DICTS) - {"verify_qr"} - context.keys()
    if missing:   # a template would silently print nothing where these belong
        raise ValueError(f"render context lacks {sorted(missing)}")
    template = _loaded(Path(template_path))
    qr = _QrPlaceholder(qr_png(qr_target))
    context = dict(context, verify_qr=qr)
    rendered = {}
    for part in template.parts:
        qr.current = part
        rendered[part.name] = part.render(context)
    return template.package(rendered, qr)


def _loaded(path: Path) -> "_Template":
    stat = path.stat()   # a template edited in place is loaded again
    return _load_template(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _load_template(path: str, mtime_ns: int, size: int) -> "_Template":
    return _Template.load(Path(path).read_bytes())


class _QrPlaceholder:
    """What `{{ verify_qr }}` prints: the QR image, inline, 20 mm wide. One per
    render; it notes the parts that show it, which need a relationship to it."""

    def __init__(self, png: bytes):
        self.png = png
        self.current: _Part | None = None
        self.shown_in: set[str] = set()

    def __html__(self) -> str:
        self.shown_in.add(self.current.name)
        # Closes the run docxtpl's placeholder sits in, like docxtpl's InlineImage.
        return ("</w:t></w:r><w:r><w:drawing>" + _inline_picture(self.current.qr_rid)
                + '</w:drawing></w:r><w:r><w:t xml:space="preserve">')

    __str__ = __html__


@lru_cache(maxsize=64)
def _inline_picture(rid: str) -> str:
    # Shape ids in the body are renumbered after rendering, as docxtpl does.
    return CT_Inline.new_pic_inline(1, rid, "image.png", QR_WIDTH, QR_WIDTH).xml


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_FOOTNOTES = "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml"
_CORE_PROPERTIES = "application/vnd.openxmlformats-package.core-properties+xml"
_XML_DECLARATION = b"<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
_DOCXTPL = DocxTemplate(None)   # for its stateless XML helpers only (patch_xml, fix_tables, resolve_listing)


@dataclass(frozen=True)
class _Part:
    """An XML part with placeholders, compiled once from docxtpl's patched source."""
    name: str                 # its name in the zip, e.g. word/footer1.xml
    template: Template        # thread-safe; rendering changes nothing in it
    is_body: bool             # word/document.xml: only its body is a template
    original: bytes           # the part as in the template
    qr_rid: str               # the relationship id the QR image gets in this part

    def render(self, context: dict) -> bytes:
        xml = self.template.render(context)
        # what docxtpl's render_xml_part does after Jinja
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        xml = _DOCXTPL.resolve_listing(xml)
        if not self.is_body:
            return etree.tostring(etree.fromstring(xml.encode()), encoding="UTF-8", standalone=True)
        body = _DOCXTPL.fix_tables(xml)       # also columns added by loops over table cells
        for number, shape in enumerate(body.iter(f"{{{_WP}}}docPr"), start=1001):
            shape.set("id", str(number))
        document = etree.fromstring(self.original)
        document.replace(document.find(f"{{{_W}}}body"), body)
        return etree.tostring(document, encoding="UTF-8", standalone=True)


@dataclass(frozen=True)
class _Template:
    """A template package, read once and never changed afterwards."""
    members: tuple["_Member", ...]          # every part of the template, in its order
    parts: tuple[_Part, ...]                # the ones rendered per document
    rels_with_qr: dict                      # part name → its relationships member with the QR image
    qr_name: str                            # where the QR image goes, e.g. word/media/verify_qr.png

    @classmethod
    def load(cls, docx: bytes) -> "_Template":
        members = _raw_members(docx)
        names = {m.name for m in members}
        parts = _template_parts(docx, members)
        qr_name = next(name for n in itertools.count()
                       if (name := f"word/media/verify_qr{n or ''}.png") not in names)
        by_name = {m.name: m for m in members}
        rels_with_qr = {part.name: _rels_with_image(part, by_name, qr_name) for part in parts}
        members = tuple(_with_png_type(m) if m.name == "[Content_Types].xml" else m for m in members)
        return cls(members, tuple(parts), rels_with_qr, qr_name)

    def package(self, rendered: dict[str, bytes], qr: _QrPlaceholder) -> bytes:
        """The DOCX: rendered parts compressed anew, everything else as it was."""
        rels = {self.rels_with_qr[name].name: self.rels_with_qr[name] for name in qr.shown_in}
        out = []
        for member in self.members:
            if member.name in rendered:
                member = _Member.deflated(member.name, rendered[member.name], member.dos_date_time)
            out.append(rels.pop(member.name, member))
        out.extend(rels.values())          # parts that had no relationships before
        if qr.shown_in:
            out.append(_Member.stored(self.qr_name, qr.png))
        return _zip(out)


def _template_parts(docx: bytes, members) -> list[_Part]:
    """The parts docxtpl renders, with the sources it renders them from."""
    tpl = DocxTemplate(io.BytesIO(docx))
    tpl.init_docx()
    by_name = {m.name: m for m in members}
    sources = [(tpl.docx.part, tpl.get_xml(), True)]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        sources += [(part, tpl.get_part_xml(part), False) for _, part in tpl.get_headers_footers(uri)]
    sources += [(part, part.blob.decode("utf-8"), False) for part in tpl.docx.part.package.parts
                if part.content_type == _FOOTNOTES]
    # docxtpl also renders the title, subject… of the document properties
    sources += [(part, xml, False) for part in tpl.docx.part.package.parts
                if part.content_type == _CORE_PROPERTIES
                and ("{{" in (xml := by_name[part.partname.lstrip("/")].read().decode("utf-8")) or "{%" in xml)]
    parts = []
    for part, xml, is_body in sources:
        name = part.partname.lstrip("/")
        source = re.sub(r"<w:p([ >])", r"\n<w:p\1", tpl.patch_xml(xml))   # as render_xml_part does
        rid = f"rId{max((int(r[3:]) for r in part.rels if r[3:].isdigit()), default=0) + 1}"
        parts.append(_Part(name, JINJA_ENV.from_string(source), is_body, by_name[name].read(), rid))
    return parts


def _rels_with_image(part: _Part, members: dict, image_name: str) -> "_Member":
    folder, file = posixpath.split(part.name)
    rels_name = posixpath.join(folder, "_rels", file + ".rels")
    if rels_name in members:
        rels = etree.fromstring(members[rels_name].read())
    else:
        rels = etree.Element(f"{{{_PACKAGE_RELS}}}Relationships", nsmap={None: _PACKAGE_RELS})
    etree.SubElement(rels, f"{{{_PACKAGE_RELS}}}Relationship", Id=part.qr_rid, Type=RT.IMAGE,
                     Target=posixpath.relpath(image_name, folder))
    return _Member.deflated(rels_name, etree.tostring(rels, encoding="UTF-8", standalone=True))


def _with_png_type(member: "_Member") -> "_Member":
    types = etree.fromstring(member.read())
    if any(d.get("Extension", "").lower() == "png" for d in types.iter(f"{{{_CONTENT_TYPES}}}Default")):
        return member
    types.insert(0, etree.Element(f"{{{_CONTENT_TYPES}}}Default", Extension="png", ContentType="image/png"))
    return _Member.deflated(member.name, etree.tostring(types, encoding="UTF-8", standalone=True),
                            member.dos_date_time)


# ---- zip members copied without recompressing ------------------------------------------
# Python's zipfile can only write what it compresses itself; the local header,
# central directory and end record are simple enough to write here (APPNOTE 4.3).

_LOCAL = struct.Struct("<I5H3I2H")       # local file header, 30 bytes
_CENTRAL = struct.Struct("<I6H3I5H2I")   # central directory header, 46 bytes
_END = struct.Struct("<I4H2IH")          # end of central directory, 22 bytes
_UTF8_NAME = 0x800
_DATA_DESCRIPTOR = 0x8
_EPOCH = (0, 1 << 5 | 1)                 # (time, date) of 1980-01-01 00:00, the zip epoch


@dataclass(frozen=True)
class _Member:
    name: str
    method: int              # zipfile.ZIP_STORED or ZIP_DEFLATED
    flags: int
    dos_date_time: tuple     # (time, date) as MS-DOS stores them
    crc: int
    size: int
    data: bytes              # the bytes as stored in the zip (compressed or not)

    @classmethod
    def deflated(cls, name: str, payload: bytes, dos_date_time: tuple = _EPOCH) -> "_Member":
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)   # raw deflate, as zip stores it
        data = compressor.compress(payload) + compressor.flush()
        return cls(name, zipfile.ZIP_DEFLATED, _name_flags(name), dos_date_time, zlib.crc32(payload),
                   len(payload), data)

    @classmethod
    def stored(cls, name: str, payload: bytes) -> "_Member":
        return cls(name, zipfile.ZIP_STORED, _name_flags(name), _EPOCH, zlib.crc32(payload), len(payload),
                   payload)

    def read(self) -> bytes:
        return zlib.decompress(self.data, -15) if self.method == zipfile.ZIP_DEFLATED else self.data


def _name_flags(name: str) -> int:
    return 0 if name.isascii() else _UTF8_NAME


def _raw_members(docx: bytes) -> tuple[_Member, ...]:
    """Every member of a zip with its compressed bytes, after checking its CRCs."""
    members = []
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        if (bad := z.testzip()) is not None:
            raise ValueError(f"damaged template part {bad}")
        for info in z.infolist():
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
                raise ValueError(f"template part {info.filename} is encrypted or oddly compressed")
            fields = _LOCAL.unpack_from(docx, info.header_offset)
            start = info.header_offset + _LOCAL.size + fields[-2] + fields[-1]   # after name and extra field
            time, day = info.date_time[3] << 11 | info.date_time[4] << 5 | info.date_time[5] // 2, \
                (info.date_time[0] - 1980) << 9 | info.date_time[1] << 5 | info.date_time[2]
            members.append(_Member(info.filename, info.compress_type, info.flag_bits & ~_DATA_DESCRIPTOR,
                                   (time, day), info.CRC, info.file_size,
                                   docx[start:start + info.compress_size]))
    return tuple(members)


def _zip(members: list[_Member]) -> bytes:
    if len(members) >= 0xFFFF or any(len(m.data) >= 0xFFFFFFFF or m.size >= 0xFFFFFFFF for m in members):
        raise ValueError("document too large for a zip without zip64")
    out, central = bytearray(), bytearray()
    for m in members:
        name = m.name.encode("utf-8")
        offset = len(out)
        fields = (20, m.flags, m.method, *m.dos_date_time, m.crc, len(m.data), m.size, len(name))
        out += _LOCAL.pack(0x04034B50, *fields, 0) + name + m.data
        central += _CENTRAL.pack(0x02014B50, 20, *fields, 0, 0, 0, 0, 0, offset) + name
    end = _END.pack(0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    return bytes(out + central + end)
