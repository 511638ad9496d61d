"""The pages the archive draws itself: cover (封面), table of contents
(卷内文件目录), back note (备考表), listing pages for audio and video, and
the page numbers stamped on content pages.

Drawn with fpdf2, which embeds subsets of the Simplified Chinese faces that
`zhifa fonts` extracts (Noto Serif CJK SC, a CFF face: "CID Type 0C" in
pdffonts, never the JP forms of the collections). A4, margins of GB/T 9704.
"""
from __future__ import annotations

from dataclasses import astuple, dataclass, field, is_dataclass
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos
from fpdf.fonts import FontFace

from services.archive.faces import Faces, gb2312_common
from shared.fonts import FACES, install_fonts

# Chinese has no spaces between words: wrap at any character, never at the
# spaces around digits and Latin words ("共 5 件、7 页" must not break before 页).
CHINESE_WRAP = WrapMode.CHAR
SERIF = "serif"
A4 = (210.0, 297.0)
MARGINS = {"left": 28.0, "top": 37.0, "right": 26.0}
SIGNATURE_LABEL_MM, SIGNATURE_LINE_MM = 24.0, 56.0
# Where the back note's signature rules end: the seal (sealing.seal_box) is stamped right of it.
SIGNATURE_BLOCK_RIGHT_MM = MARGINS["left"] + SIGNATURE_LABEL_MM + SIGNATURE_LINE_MM
SIGNATURE_TOP_MM, SIGNATURE_BLOCK_MM = 205.0, 30.0     # the block's usual top; its height (three 10 mm rows)
NUMBER_SIZE_PT = 14          # 4号
NUMBER_EDGE_MM = (12.0, 14.0)  # from the outer edge, from the top
MM_PER_PT = 25.4 / 72


@dataclass
class Cover:
    heading: str                       # e.g. 行政处罚案卷
    fields: list[tuple[str, str]]      # (label, value) in printed order


@dataclass
class ContentsRow:
    seq: int
    number: str
    author: str
    title: str
    date: str
    pages: str
    remark: str


@dataclass
class BackNote:
    archive_number: str
    paragraphs: list[str]
    compiled_by: str
    checked_by: str
    date: str


@dataclass
class PhotoCaption:
    title: str
    taken: str
    place: str
    photographer: str
    proves: str

    def rows(self) -> list[tuple[str, str]]:
        return list(zip(PHOTO_LABELS, (self.title, self.taken, self.place, self.photographer, self.proves)))


@dataclass
class MediaListing:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)   # (label, value)


# Everything drawn in the bold face besides the cover's heading: headings and labels.
# 照片档案 practice: each photo on an A4 sheet with its caption.
PHOTO_LABELS = ("题名", "拍摄时间", "拍摄地点", "拍摄人", "证明对象")
PHOTO_AREA_MM = (MARGINS["left"], MARGINS["top"], 210 - MARGINS["right"], 190.0)   # x0, top, x1, bottom
BOLD_TEXT = "卷内文件目录备考表音视频文件说明本卷情况说明序号文号责任者题名日期页号备注照片说明" + "".join(PHOTO_LABELS)
MEDIA_NOTE = "原始音视频文件作为关联文件（附件）嵌入本 PDF，可在阅读器的附件面板中打开；其 SHA-256 摘要值见上表。"
# What the regular face always draws besides the case file's own text.
REGULAR_TEXT = "档号：立卷人检查人立卷日期" + MEDIA_NOTE
# The regular face cut once per installation: the common characters (the
# case file's text varies, so the cut cannot be to exactly what it draws).
COMMON_TEXT = gb2312_common() + REGULAR_TEXT


def drawn_text(*parts) -> str:
    """Every string in `parts` (strings, numbers, dataclasses, lists, tuples),
    joined: the text a face will have to draw."""
    out: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (int, float)):
            out.append(str(value))
        elif is_dataclass(value):
            walk(astuple(value))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)
    walk(parts)
    return "".join(out)


@dataclass
class PageNumbers:
    """The page numbers, to be drawn into the content pages themselves: the
    regular face's resource name in the rendered document and, per content
    page, the text object (in points, as the page is shown)."""
    font: str
    size: float
    texts: list[bytes]


class PageMaker:
    def __init__(self, fonts_dir: Path, faces: Faces | None = None, headings: str = "", common: str = COMMON_TEXT):
        """`headings`: the cover headings this service may print (the case
        types' titles); with BOLD_TEXT they are all the bold face ever draws,
        so the bold face is a small one cut once per process (`faces`).
        `common`: the characters of the regular face cut once per installation."""
        install_fonts(fonts_dir)
        self.regular = Path(fonts_dir) / FACES[0].filename
        self.bold = Path(fonts_dir) / FACES[1].filename
        self.faces = faces
        self.bold_fixed = BOLD_TEXT + headings
        self.common = common

    def warm(self) -> None:
        if self.faces:
            self.faces.small(self.bold, self.bold_fixed)
            self.faces.small(self.regular, self.common)

    def document(self, bold_text: str = "", regular_text: str | None = None) -> FPDF:
        """One document for all the pages a case file needs: the faces are
        parsed and subset once per document. `bold_text`: what the bold face
        will draw beyond the fixed headings (e.g. the cover's labels);
        `regular_text`: everything the regular face will draw (None: unknown,
        the full face). The regular face is the common one when it is cut
        (`warm`) and has every character, else the full face: never waits."""
        pdf = FPDF(unit="mm", format="A4")
        pdf.set_auto_page_break(True, margin=35)
        regular = self.regular
        if self.faces and regular_text is not None:
            regular = self.faces.for_text(self.regular, self.common, regular_text, wait=False)
        pdf.add_font(SERIF, "", str(regular))
        bold = self.faces.for_text(self.bold, self.bold_fixed, bold_text) if self.faces else self.bold
        pdf.add_font(SERIF, "B", str(bold))
        for font in pdf.fonts.values():
            # Keep the face's own FontBBox (a valid bound for any subset): recomputing
            # it from the outlines of every used glyph doubled the time of writing.
            font.ttfont.recalcBBoxes = False
        pdf.set_lang("zh-CN")
        pdf.set_creator("zhifa archive")
        return pdf

    @staticmethod
    def _a4(pdf: FPDF, left: float = MARGINS["left"], top: float = MARGINS["top"], right: float = MARGINS["right"]) -> int:
        pdf.set_margins(left, top, right)
        pdf.add_page(format="A4")
        return pdf.page - 1   # 0-based index of the new page

    @staticmethod
    def render(pdf: FPDF) -> bytes:
        return bytes(pdf.output())

    def _heading(self, pdf: FPDF, text: str, size: float = 22) -> None:
        pdf.set_font(SERIF, "B", size)
        pdf.cell(0, 14, text, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)

    def cover(self, pdf: FPDF, cover: Cover) -> range:
        start = self._a4(pdf)
        pdf.set_y(40)       # fifteen rows (GB/T 9705 adds 立卷单位 and 密级) on one page
        self._heading(pdf, cover.heading, 26)
        pdf.ln(8)
        with pdf.table(col_widths=(38, 118), first_row_as_headings=False, line_height=8, wrapmode=CHINESE_WRAP,
                       text_align=("CENTER", "LEFT"), padding=2) as table:
            pdf.set_font(SERIF, "", 14)
            for label, value in cover.fields:
                row = table.row()
                row.cell(label, style=FontFace(family=SERIF, emphasis="B", size_pt=14))
                row.cell(value)
        return range(start, pdf.page)

    def contents(self, pdf: FPDF, archive_number: str, rows: list[ContentsRow]) -> range:
        start = self._a4(pdf, 18, 25, 18)   # seven columns need the page's width
        self._heading(pdf, "卷内文件目录")
        pdf.set_font(SERIF, "", 11)
        pdf.cell(0, 7, f"档号：{archive_number}", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        grid(pdf, (9, 36, 24, 55, 20, 14, 16), "CLLLCCL", ("序号", "文号", "责任者", "题名", "日期", "页号", "备注"),
             [(str(r.seq), r.number, r.author, r.title, r.date, r.pages, r.remark) for r in rows])
        return range(start, pdf.page)

    def back_note(self, pdf: FPDF, note: BackNote) -> tuple[range, float]:
        """The back note's pages and the top of its signature block on the last of them (mm)."""
        start = self._a4(pdf)
        self._heading(pdf, "备考表")
        pdf.set_font(SERIF, "", 11)
        pdf.cell(0, 7, f"档号：{note.archive_number}", align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
        pdf.set_font(SERIF, "B", 14)
        pdf.cell(0, 9, "本卷情况说明", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(SERIF, "", 12.5)
        for paragraph in note.paragraphs:
            pdf.multi_cell(0, 7.5, paragraph, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=CHINESE_WRAP)
            pdf.ln(1.5)
        # The signature block: from 205 mm, or below the notes, on one page (a new one when the notes leave
        # no room); the seal is stamped beside it on that page, from its top (sealing.seal_box), so it covers
        # neither the rules nor the notes.
        top = max(pdf.get_y() + 8, SIGNATURE_TOP_MM)
        if top + SIGNATURE_BLOCK_MM > A4[1] - 35:
            self._a4(pdf)
            top = SIGNATURE_TOP_MM
        pdf.set_y(top)
        pdf.set_font(SERIF, "", 13)
        for label, value in (("立卷人", note.compiled_by), ("检查人", note.checked_by), ("立卷日期", note.date)):
            pdf.cell(SIGNATURE_LABEL_MM, 10, f"{label}：")
            pdf.cell(SIGNATURE_LINE_MM, 10, value, border="B", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return range(start, pdf.page), top

    def media_listing(self, pdf: FPDF, listing: MediaListing) -> range:
        start = self._a4(pdf)
        self._heading(pdf, "音视频文件说明", 18)
        pdf.set_font(SERIF, "", 12)
        pdf.multi_cell(0, 7, listing.title, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=CHINESE_WRAP)
        pdf.ln(4)
        pdf.set_font(SERIF, "", 11)
        with pdf.table(col_widths=(34, 122), first_row_as_headings=False, line_height=7, padding=1.5, wrapmode=CHINESE_WRAP,
                       text_align=("CENTER", "LEFT")) as table:
            for label, value in listing.rows:
                row = table.row()
                row.cell(label)
                row.cell(value)
        pdf.ln(6)
        pdf.multi_cell(0, 7, MEDIA_NOTE, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=CHINESE_WRAP)
        return range(start, pdf.page)

    def photo_mount(self, pdf: FPDF, caption: PhotoCaption, pages: int) -> range:
        """A4 sheets for a photo's pages: the photo is placed in PHOTO_AREA_MM afterwards (assembly), the
        caption (照片说明) is ruled below it."""
        start = None
        for _ in range(pages):
            index = self._a4(pdf)
            start = index if start is None else start
            pdf.set_y(PHOTO_AREA_MM[3] + 8)
            grid(pdf, (30, 210 - MARGINS["left"] - MARGINS["right"] - 30), "CL", ("照片说明", ""),
                 [(label, value or "—") for label, value in caption.rows()], size=11, line=6.5)
        return range(start, pdf.page)

    def page_numbers(self, pdf: FPDF, numbers: list[tuple[int, float, float]]) -> PageNumbers:
        """The numbers of the content pages: (number, visual width, visual
        height in points) each, the number top right on rectos (odd), top
        left on versos (even), in the regular face at 4号. They are drawn into
        the pages themselves (`Assembler._number_pages`) with the regular
        face's subset of this document: call before `render`, so the digits
        are in that subset."""
        pdf.set_font(SERIF, "", NUMBER_SIZE_PT)
        font = pdf.current_font
        edge, top = NUMBER_EDGE_MM
        texts = []
        for number, width, height in numbers:
            text = str(number)
            x = width - (edge + pdf.get_string_width(text)) / MM_PER_PT if number % 2 == 1 else edge / MM_PER_PT
            texts.append(b"BT %.2f %.2f Td %s ET" % (x, height - top / MM_PER_PT, font.encode_text(text).encode("latin-1")))
        return PageNumbers(f"/F{font.i}", NUMBER_SIZE_PT, texts)


# 避头尾 (GB/T 15834 practice): no line starts with closing punctuation, none ends with an opening one.
NO_LINE_START = frozenset("，。、；：？！）〕］」』》〉】…—％’”,.;:?!)]}%")
NO_LINE_END = frozenset("（〔［「『《〈【“‘([{")


def wrap_cjk(text: str, width: float, measure) -> list[str]:
    """Lines of at most `width` (as `measure` says), broken at any character, with 避头尾: a closing mark
    that would start a line takes the previous character with it, an opening mark that would end a
    line goes to the next."""
    if measure(text) <= width:
        return [text]
    out: list[str] = []
    current = ""
    for ch in text:
        if current and measure(current + ch) > width:
            carry = ""
            while (carry or ch)[0] in NO_LINE_START and len(current) > 1:   # "〕，" moves as a pair
                carry, current = current[-1] + carry, current[:-1]
            while len(current) > 1 and current[-1] in NO_LINE_END:
                carry, current = current[-1] + carry, current[:-1]
            out.append(current)
            current = carry
        current += ch
    return out + [current]


def grid(pdf: FPDF, widths: tuple[float, ...], aligns: str, headings: tuple[str, ...], rows: list[tuple[str, ...]],
         size: float = 10, line: float = 6, pad: float = 1.2, bottom: float = A4[1] - 35) -> None:
    """A ruled table, headings (bold) repeated on every page, text wrapped
    within its cell at any character (Chinese has no spaces). Drawn with
    cells and text runs: fpdf2's table() lays out every cell twice and took
    about 0.45 s for a 270-item contents list."""
    cache: dict[tuple[str, float, str], float] = {}

    def text_width(text: str) -> float:
        """fpdf2's width of `text` (a sum of its characters' advances: no
        shaping), each character measured once per style and size."""
        total = 0.0
        for ch in text:
            key = (pdf.font_style, pdf.font_size_pt, ch)
            w = cache.get(key)
            if w is None:
                w = cache[key] = pdf.get_string_width(ch)
            total += w
        return total

    def lines(text: str, width: float) -> list[str]:
        return wrap_cjk(text, width, text_width)

    def row(cells: tuple[str, ...], style: str) -> None:
        pdf.set_font(SERIF, style, size)
        wrapped = [lines(text, w - 2 * pad) for text, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped) * line + 2 * pad
        if pdf.get_y() + height > bottom:
            pdf.add_page(format="A4")
            if style == "":
                row(headings, "B")
                pdf.set_font(SERIF, style, size)
        x, y = pdf.l_margin, pdf.get_y()
        for text_lines, width, align in zip(wrapped, widths, aligns):
            pdf.rect(x, y, width, height)
            for n, text in enumerate(text_lines):
                offset = pad if align == "L" else (width - text_width(text)) / 2
                pdf.text(x + offset, y + pad + n * line + line * 0.72, text)
            x += width
        pdf.set_xy(pdf.l_margin, y + height)

    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    row(headings, "B")
    for cells in rows:
        row(cells, "")
