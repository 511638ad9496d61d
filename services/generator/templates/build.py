"""Build the catalogue of enforcement-document templates (执法文书模板).

Run from the repository root:

    .venv/bin/python -m services.generator.templates.build

For every document type T this writes, next to this file:

    T.docx          Word template (docxtpl / Jinja placeholders) a clerk can
                    open and edit in Word or WPS
    T.schema.json   JSON Schema (2020-12) of the data the case system sends
    T.example.json  an example payload that validates against the schema

plus catalogue.json (the list of types, in a fixed order).

The script has three parts:

1. a small layout toolkit (class Doc): page set-up after GB/T 9704, styles,
   title, number line, salutation, body paragraph, headings, handwriting
   lines, signature and seal blocks, form tables, verification area;
2. the shared data vocabulary (party, case, application, decision, ...) as
   Python dicts, composed into self-contained schemas (definitions inlined
   under "$defs");
3. one short spec per document type: catalogue entry, schema, example and
   layout.

Templates may use only the validated data's properties and the names the
generator adds to the render context (rendering.GENERATED_SCALARS and
GENERATED_DICTS); tests/generator/test_templates.py lints them.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
VERSION = "2026.1"

AGENCY_FIELDS = {
    "name": "机关名称（如：鞍山市营商环境建设局）",
    "alias": "机关别名（如：鞍山市行政审批局）",
    "short_name": "机关简称，用于文号（如：鞍审批）",
    "credit_code": "机关统一社会信用代码",
    "address": "机关地址",
    "postcode": "邮政编码",
    "phone": "联系电话",
    "contact": "联系人",
    "seal_name": "本文书加盖的印章名称（如：行政许可专用章）",
    "reconsideration_body": "行政复议机关（如：鞍山市人民政府）",
    "court": "管辖人民法院",
}

# ---------------------------------------------------------------------------
# 1. Layout toolkit
# ---------------------------------------------------------------------------

FANGSONG = "仿宋_GB2312"   # body, 3号
XIAOBIAOSONG = "方正小标宋简体"  # title, 2号
HEITI = "黑体"             # heading 一、
KAITI = "楷体_GB2312"      # heading （一）
SONGTI = "宋体"            # page number, 4号

TEXT_WIDTH = Mm(156)       # 210 - 28 - 26
LINE_PITCH = 579           # twips: 225 mm / 22 lines
# 28 characters per line: 156 mm = 442.2 pt, so a character may take at most
# 15.79 pt. Word would do this with a character grid (docGrid linesAndChars,
# charSpace -849), but LibreOffice, which converts our DOCX to PDF, puts every
# CJK character wider than the grid cell into TWO cells (14 characters a
# line). So the section has a line grid only (22 lines of 579 twips) and the
# text is condensed by 0.3 pt (w:spacing -6 twentieths): 28 x 15.7 = 439.6 pt,
# 28 characters a line in both Word/WPS and LibreOffice. (At -0.25 pt the line
# is so tight that LibreOffice drops a justified line's final 。 from the PDF.)
CHAR_CONDENSE = -6         # twentieths of a point
FULL = "\u3000"            # ideographic space, one character wide
QR_CELL = Mm(24)           # the generator's QR image is 20 mm wide
YOU = "{{ you }}"           # 你单位 / 你, see Doc.heading_block

_PPR_SEQ = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr",
    "w:widowControl", "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd",
    "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap",
    "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
    "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
    "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
    "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)
_RPR_TAIL = ("w:eastAsianLayout", "w:specVanish", "w:oMath")


def _el(tag: str, **attrs: str) -> OxmlElement:
    """An OOXML element; attribute names use '_' for ':' (w_val -> w:val)."""
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(key.replace("_", ":", 1)), str(value))
    return el


def _ppr_put(ppr, el) -> None:
    """Insert or replace a child of w:pPr keeping the schema's element order."""
    old = ppr.find(el.tag)
    if old is not None:
        ppr.remove(old)
    tag = el.tag.split("}")[1]
    successors = _PPR_SEQ[_PPR_SEQ.index("w:" + tag) + 1:]
    ppr.insert_element_before(el, *successors)


def _set_fonts(rpr, font: str, size_pt: float | None = None) -> None:
    """Latin and East Asian font, size and zh-CN language on a w:rPr."""
    rfonts = rpr.get_or_add_rFonts()
    for attr in list(rfonts.attrib):
        del rfonts.attrib[attr]
    for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        rfonts.set(qn(attr), font)
    if size_pt is not None:
        half_points = str(int(size_pt * 2))
        rpr.get_or_add_sz().set(qn("w:val"), half_points)
        szcs = rpr.find(qn("w:szCs"))
        if szcs is None:
            szcs = _el("w:szCs")
            rpr.insert_element_before(szcs, "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
                                      "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em",
                                      "w:lang", *_RPR_TAIL)
        szcs.set(qn("w:val"), half_points)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = _el("w:lang")
        rpr.insert_element_before(lang, *_RPR_TAIL)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


@dataclass
class P:
    """A paragraph inside a table cell."""
    text: str
    align: str = "left"   # left | center | right | both
    style: str = "ZF Table"


@dataclass
class Cell:
    content: str | list  # text or list of str / P
    span: int = 1
    align: str = "left"


def L(text: str, span: int = 1) -> Cell:
    """A label cell (centred)."""
    return Cell(text, span, "center")


def V(content, span: int = 1) -> Cell:
    """A value cell (left-aligned)."""
    return Cell(content, span, "left")


@dataclass
class Row:
    cells: list
    height_mm: float | None = None


@dataclass
class TR:
    """A docxtpl table-row tag, e.g. TR("for m in application.missing_materials")."""
    tag: str


_ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT, "both": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


class Doc:
    """A template document with the GB/T 9704 page and the zhifa styles.

    `footer_sign`, when given, lists the signers whose signature line is
    printed in the footer of every page above the page number: records
    (笔录) are signed (and by the party, dated) on each page.
    """

    def __init__(self, footer_sign: tuple | None = None) -> None:
        self.doc = Document()
        self._page()
        self._styles()
        self._footers(footer_sign)
        body = self.doc.element.body
        for p in body.findall(qn("w:p")):  # the default document's empty paragraph
            body.remove(p)

    # -- set-up -------------------------------------------------------------
    def _page(self) -> None:
        section = self.doc.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.top_margin, section.bottom_margin = Mm(37), Mm(35)
        section.left_margin, section.right_margin = Mm(28), Mm(26)
        section.header_distance, section.footer_distance = Mm(15), Mm(21)
        section.gutter = 0
        grid = section._sectPr.find(qn("w:docGrid"))
        for attr in list(grid.attrib):
            del grid.attrib[attr]
        grid.set(qn("w:type"), "lines")
        grid.set(qn("w:linePitch"), str(LINE_PITCH))
        self.doc.settings.odd_and_even_pages_header_footer = True
        settings = self.doc.settings.element
        theme_lang = settings.find(qn("w:themeFontLang"))
        if theme_lang is not None:
            theme_lang.set(qn("w:eastAsia"), "zh-CN")
        core = self.doc.core_properties
        core.author = core.last_modified_by = "zhifa"
        core.title = ""
        core.created = core.modified = datetime(2026, 1, 1)
        core.revision = 1

    def _style(self, name: str, font: str, size: float, *, align=None, first_line=False,
               right_chars: int = 0, snap: bool = True, keep_next: bool = False,
               base: str = "Normal"):
        styles = self.doc.styles
        style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = styles[base]
        style.quick_style = True
        _set_fonts(style.element.get_or_add_rPr(), font, size)
        fmt = style.paragraph_format
        fmt.space_before = fmt.space_after = Pt(0)
        if align is not None:
            fmt.alignment = _ALIGN[align]
        if keep_next:
            fmt.keep_with_next = True
        ppr = style.element.get_or_add_pPr()
        if not snap:
            _ppr_put(ppr, _el("w:snapToGrid", w_val="0"))
        if first_line or right_chars:
            ind = _el("w:ind")
            if first_line:  # two characters, as Word's 首行缩进 2 字符
                ind.set(qn("w:firstLineChars"), "200")
                ind.set(qn("w:firstLine"), str(int(size * 2 * 20)))
            else:
                ind.set(qn("w:firstLineChars"), "0")
                ind.set(qn("w:firstLine"), "0")
            if right_chars:
                ind.set(qn("w:rightChars"), str(right_chars * 100))
                ind.set(qn("w:right"), str(int(size * right_chars * 20)))
            _ppr_put(ppr, ind)
        return style

    def _styles(self) -> None:
        styles = self.doc.styles
        defaults = styles.element.find(qn("w:docDefaults"))
        _set_fonts(defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")), FANGSONG, 16)
        ppr_default = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
        _ppr_put(ppr_default, _el("w:spacing", w_after="0", w_line="240", w_lineRule="auto"))
        normal = styles["Normal"]
        normal_rpr = normal.element.get_or_add_rPr()
        _set_fonts(normal_rpr, FANGSONG, 16)
        normal_rpr.insert_element_before(_el("w:spacing", w_val=str(CHAR_CONDENSE)),
                                         "w:w", "w:kern", "w:position", "w:sz")
        normal_ppr = normal.element.get_or_add_pPr()
        _ppr_put(normal_ppr, _el("w:spacing", w_after="0", w_line="240", w_lineRule="auto"))
        _ppr_put(normal_ppr, _el("w:jc", w_val="both"))
        # 2号 lines would take two grid lines each; an exact 32 pt keeps the heading compact
        for name in ("ZF Agency", "ZF Title"):
            title = self._style(name, XIAOBIAOSONG, 22, align="center", snap=False, keep_next=True)
            title.paragraph_format.line_spacing = Pt(32)
            title.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        self._style("ZF Number", FANGSONG, 16, align="right", keep_next=True)
        self._style("ZF Body", FANGSONG, 16, align="both", first_line=True)
        self._style("ZF Plain", FANGSONG, 16, align="both")
        self._style("ZF Heading 1", HEITI, 16, align="both", first_line=True, keep_next=True)
        self._style("ZF Heading 2", KAITI, 16, align="both", first_line=True, keep_next=True)
        seal = self._style("ZF Seal", FANGSONG, 16, align="right", right_chars=2, snap=False)
        seal.paragraph_format.line_spacing = Pt(24)  # off the grid: the seal band stays compact
        seal.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        self._style("ZF Seal Name", FANGSONG, 10.5, align="right", snap=False)
        for name in ("ZF Line", "ZF Sign"):  # handwriting lines; signature lines with the date right
            line = self._style(name, FANGSONG, 16, align="left")
            line.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH - Mm(1), WD_TAB_ALIGNMENT.RIGHT)
        self._style("ZF Table", FANGSONG, 12, align="left", snap=False)
        self._style("ZF Small", FANGSONG, 10.5, align="left", snap=False)
        self._style("ZF Verify", FANGSONG, 9, align="left", snap=False)
        self._style("ZF Footer", SONGTI, 14, snap=False)
        self._style("ZF Footer Sign", FANGSONG, 10.5, align="left", snap=False)

    def _footers(self, footer_sign: tuple | None) -> None:
        section = self.doc.sections[0]
        for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
            footer.is_linked_to_previous = False
            first = footer.paragraphs[0]
            if footer_sign:
                first.style = self.doc.styles["ZF Footer Sign"]
                for i, label in enumerate(footer_sign):
                    first.add_run((FULL * 2 if i else "") + label + "：")
                    first.add_run(FULL * 7).underline = True
                    if i == 0:  # the party signs and dates every page
                        first.add_run(FULL * 2 + "年" + FULL + "月" + FULL + "日")
                number = footer.add_paragraph()
            else:
                number = first
            number.style = self.doc.styles["ZF Footer"]
            number.alignment = _ALIGN[align]
            self._page_field(number)

    @staticmethod
    def _page_field(paragraph) -> None:
        """"— N —" with a PAGE field (GB/T 9704 page number)."""
        paragraph.add_run("— ")
        for kind in ("begin", None, "separate", "1", "end"):
            run = paragraph.add_run()
            if kind is None:
                instr = _el("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = " PAGE "
                run._r.append(instr)
            elif kind == "1":
                run.text = "1"
            else:
                run._r.append(_el("w:fldChar", w_fldCharType=kind))
        paragraph.add_run(" —")

    # -- paragraphs ---------------------------------------------------------
    def p(self, *runs: str | tuple, style: str = "ZF Body", align: str | None = None,
          keep_next: bool = False):
        """A paragraph. A run is text, or ("u", text) for underlined text."""
        par = self.doc.add_paragraph(style=style)
        for run in runs:
            if isinstance(run, tuple):
                par.add_run(run[1]).underline = True
            else:
                par.add_run(run)
        if align:
            par.alignment = _ALIGN[align]
        if keep_next:
            par.paragraph_format.keep_with_next = True
        return par

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.doc.add_paragraph(style="ZF Plain")

    def heading_block(self, you: bool = True) -> None:
        """Agency name line, title and the document number (文号) line.

        With `you`, also sets the template variable `you` (你单位 for an
        organisation, 你 for a natural person) that the text uses instead
        of the model texts' "{{ you }}"."""
        if you:
            self.tag("set you = '你单位' if party.kind == 'organization' else '你'")
        self.p("{{ agency.name }}", style="ZF Agency")
        self.p("{{ doc_title }}", style="ZF Title")
        self.p("{{ number }}", style="ZF Number")

    def salutation(self, who: str = "{{ party.name }}") -> None:
        self.p(who + "：", style="ZF Plain")

    def body(self, *runs, keep_next: bool = False) -> None:
        self.p(*runs, style="ZF Body", keep_next=keep_next)

    def field(self, label: str, value: str) -> None:
        """An unindented "label：value" line (record headers, party block)."""
        self.p(label + "：" + value, style="ZF Plain")

    def h1(self, text: str) -> None:
        self.p(text, style="ZF Heading 1")

    def h2(self, text: str) -> None:
        self.p(text, style="ZF Heading 2")

    def tag(self, statement: str) -> None:
        """A docxtpl paragraph tag ({%p ... %}); the paragraph disappears on rendering."""
        self.p("{%p " + statement + " %}", style="ZF Plain")

    def party_block(self, label: str = "当事人", address: bool = True, phone: bool = False) -> None:
        """The party's identity lines, for organisations or natural persons."""
        self.field(label, "{{ party.name }}")
        self.tag("if party.kind == 'organization'")
        self.field("统一社会信用代码", "{{ party.credit_code }}")
        self.field("法定代表人（负责人）", "{{ party.legal_representative }}")
        self.tag("else")
        self.field("身份证件类型及号码", "{{ party.id_type }} {{ party.id_number }}")
        self.tag("endif")
        if address:
            self.field("住所（住址）", "{{ party.address }}")
        if phone:
            self.field("联系电话", "{{ party.phone }}")

    def handwriting(self, label: str, lines: int) -> None:
        """A label and blank underlined lines for the party's own handwriting."""
        self.p(label, style="ZF Plain", keep_next=True)
        for i in range(lines):
            self.p(("u", "\t"), style="ZF Line", keep_next=i < min(1, lines - 1))

    def sign(self, label: str, blanks: int = 1, date: bool = True) -> None:
        """"label：＿＿＿＿  年  月  日" for handwritten signatures."""
        runs: list = [label + "："]
        for i in range(blanks):
            runs += [("u", FULL * (7 if blanks == 1 else 4))] + ([FULL] if i < blanks - 1 else [])
        if date:
            runs.append("\t" + FULL * 2 + "年" + FULL * 2 + "月" + FULL * 2 + "日")
        self.p(*runs, style="ZF Sign")

    def record_ack(self, who: str = "当事人") -> None:
        """The closing line of a record (笔录), written by the party in person."""
        self.handwriting(f"{who}核对意见（由{who}本人书写“以上笔录已阅，记录属实”）：", 2)

    def contact(self) -> None:
        """Contact lines; kept on the page of the seal that follows them."""
        self.p("联系人：{{ agency.contact }}" + FULL * 2 + "联系电话：{{ agency.phone }}",
               style="ZF Plain", keep_next=True)
        self.p("机关地址：{{ agency.address }}" + FULL + "邮编：{{ agency.postcode }}",
               style="ZF Plain", keep_next=True)

    # The QR code carries the full URL; the printed text stays short enough to type.
    VERIFY_TEXT = "扫码或登录 {{ verify_page }} 凭文号和验证码核验真伪。验证码：{{ verification_code }}"

    def seal(self, date: str = "{{ issued_on }}") -> None:
        """Seal area: agency name, the seal to apply and the date, right-aligned,
        with the verification QR code and text at the left of the same band."""
        self.p("", style="ZF Plain", keep_next=True)  # the seal reaches up to one line below the text
        table = self._table([QR_CELL, Mm(56), TEXT_WIDTH - QR_CELL - Mm(56)], 1, borders=False)
        self._keep_row(table.rows[0])
        qr, text, seal = table.rows[0].cells
        self._fill(qr, [P("{{ verify_qr }}", "center", "ZF Small")])
        self._fill(text, [P(self.VERIFY_TEXT, "left", "ZF Verify")])
        # the seal's name is shown (small) only when it is not the agency's own name,
        # e.g. （鞍山市行政审批局行政许可专用章）
        self._fill(seal, [P("{{ agency.name }}", "right", "ZF Seal"),
                          P("{%p if agency.seal_name and agency.seal_name != agency.name %}"),
                          P("（{{ agency.seal_name }}）", "right", "ZF Seal Name"),
                          P("{%p endif %}"),
                          P(date, "right", "ZF Seal")])
        for cell in (qr, text, seal):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    def verify(self, space: bool = True) -> None:
        """QR code and verification text, a small borderless band at the end
        (documents without a seal; sealed ones have it beside the seal)."""
        if space:
            self.p("", style="ZF Small")
        table = self._table([QR_CELL, TEXT_WIDTH - QR_CELL], 1, borders=False)
        self._keep_row(table.rows[0])
        qr, text = table.rows[0].cells
        self._fill(qr, [P("{{ verify_qr }}", "center", "ZF Small")])
        self._fill(text, [P(self.VERIFY_TEXT, "left", "ZF Verify")])
        for cell in (qr, text):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    # -- tables ---------------------------------------------------------------
    def _table(self, widths: list, nrows: int, borders: bool = True):
        table = self.doc.add_table(rows=nrows, cols=len(widths),
                                   style="Table Grid" if borders else None)
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tbl_w = table._tbl.tblPr.find(qn("w:tblW"))
        tbl_w.set(qn("w:type"), "dxa")
        tbl_w.set(qn("w:w"), str(int(sum(widths) / 635)))  # EMU -> twips
        for col, width in zip(table.columns, widths):
            col.width = width
            for cell in col.cells:
                cell.width = width
        return table

    @staticmethod
    def _keep_row(row) -> None:
        """The row is not split across pages (w:cantSplit)."""
        row._tr.get_or_add_trPr().insert_element_before(
            _el("w:cantSplit"), "w:trHeight", "w:tblHeader", "w:tblCellSpacing",
            "w:jc", "w:hidden", "w:ins", "w:del", "w:trPrChange")

    @staticmethod
    def _fill(cell, content) -> None:
        items = content if isinstance(content, list) else [content]
        for i, item in enumerate(items):
            item = item if isinstance(item, P) else P(item)
            par = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            par.style = cell.part.document.styles[item.style]
            par.alignment = _ALIGN[item.align]
            if item.text:
                par.add_run(item.text)

    def form(self, widths_mm: list[float], rows: list, header: bool = False) -> None:
        """A bordered form. Rows are Row / list of Cell, or TR loop tags;
        with `header`, the first row repeats on each page (list tables)."""
        widths = [Mm(w) for w in widths_mm]
        ncols = len(widths)
        table = self._table(widths, len(rows))
        if header:
            table.rows[0]._tr.get_or_add_trPr().insert_element_before(
                _el("w:tblHeader"), "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del",
                "w:trPrChange")
        for row_spec, row in zip(rows, table.rows):
            if isinstance(row_spec, TR):
                cell = row.cells[0].merge(row.cells[-1]) if ncols > 1 else row.cells[0]
                self._fill(cell, P("{%tr " + row_spec.tag + " %}"))
                continue
            if isinstance(row_spec, list):
                row_spec = Row(row_spec)
            col = 0
            for spec in row_spec.cells:
                cell = row.cells[col]
                if spec.span > 1:
                    cell = cell.merge(row.cells[col + spec.span - 1])
                content = spec.content
                if isinstance(content, str):
                    content = [P(content, spec.align)]
                self._fill(cell, content)
                cell.vertical_alignment = (WD_CELL_VERTICAL_ALIGNMENT.CENTER
                                           if spec.align == "center" or row_spec.height_mm is None
                                           else WD_CELL_VERTICAL_ALIGNMENT.TOP)
                col += spec.span
            if col != ncols:
                raise ValueError(f"row spans {col} of {ncols} columns: {row_spec}")
            row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
            row.height = Mm(row_spec.height_mm or 7.5)
            if row_spec.height_mm is None:  # short rows stay on one page
                self._keep_row(row)

    # -- output -------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Save with fixed zip timestamps, so rebuilding changes nothing."""
        xml = self.doc.element.xml
        if ("{{ you }}" in xml) != ("set you =" in xml):
            raise ValueError(f"{path.name}: use heading_block(you=...) to match the use of {{{{ you }}}}")
        buf = io.BytesIO()
        self.doc.save(buf)
        buf.seek(0)
        out = io.BytesIO()
        with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 1, 0, 0, 0))
                fixed.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(fixed, src.read(info.filename))
        path.write_bytes(out.getvalue())


def sig_cell(label: str) -> P:
    """The signature-and-date line at the bottom of an opinion cell."""
    return P(f"{label}：" + FULL * 6 + FULL * 2 + "年" + FULL * 2 + "月" + FULL * 2 + "日", "right")


def joined(path: str, var: str = "b", sep: str = "、") -> str:
    """Inline loop printing the items of a string array, separated by sep."""
    return ("{% for " + var + " in " + path + " %}{{ " + var + " }}"
            "{% if not loop.last %}" + sep + "{% endif %}{% endfor %}")


PARTY_ID = ("{% if party.kind == 'organization' %}{{ party.credit_code }}"
            "{% else %}{{ party.id_type }} {{ party.id_number }}{% endif %}")
HANDLERS_INLINE = ("{% for h in handlers %}{{ h.name }}（执法证号：{{ h.certificate_number }}）"
                   "{% if not loop.last %}、{% endif %}{% endfor %}")


# ---------------------------------------------------------------------------
# 2. Data vocabulary (DESIGN.md "Shared vocabulary") and schema helpers
# ---------------------------------------------------------------------------

NAME, SHORT, LINE, TEXT = 100, 50, 500, 5000
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
ID_PATTERN = r"^\d{17}[\dXx]$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"


def string(desc: str, max_length: int = NAME, **extra) -> dict:
    return {"type": "string", "description": desc, "maxLength": max_length, **extra}


def text(desc: str) -> dict:
    return string(desc, TEXT)


def date(desc: str) -> dict:
    return {"type": "string", "format": "date", "pattern": DATE_PATTERN,
            "description": desc + "（YYYY-MM-DD）"}


def clock(desc: str) -> dict:
    return {"type": "string", "pattern": TIME_PATTERN, "description": desc + "（HH:MM，24小时制）"}


def boolean(desc: str) -> dict:
    return {"type": "boolean", "description": desc}


def array(items: dict, desc: str, min_items: int | None = None, max_items: int = 100) -> dict:
    out = {"type": "array", "description": desc, "items": items, "maxItems": max_items}
    if min_items:
        out["minItems"] = min_items
    return out


def ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


def obj(props: dict, required=(), desc: str | None = None) -> dict:
    """A closed object; required strings get minLength 1."""
    props = copy.deepcopy(props)
    for name in required:
        if name not in props:
            raise KeyError(f"required property {name!r} is not defined")
        if props[name].get("type") == "string":
            props[name]["minLength"] = 1
    out = {"type": "object"}
    if desc:
        out["description"] = desc
    out.update({"additionalProperties": False, "properties": props})
    if required:
        out["required"] = list(required)
    return out


def pick(vocab: dict, fields, required=(), desc: str | None = None, **overrides) -> dict:
    """An object with some fields of a vocabulary entry (overrides replace fields)."""
    props = {name: overrides.get(name, vocab.get(name)) for name in fields}
    missing = [name for name, value in props.items() if value is None]
    if missing:
        raise KeyError(f"unknown fields {missing}")
    return obj(props, required, desc)


PARTY = {
    "kind": {"type": "string", "enum": ["person", "organization"],
             "description": "当事人类别：person 自然人；organization 法人或者其他组织"},
    "name": string("当事人姓名或者名称"),
    "id_type": string("身份证件类型（如：居民身份证）", SHORT),
    "id_number": string("身份证件号码（18位公民身份号码）", 18, pattern=ID_PATTERN),
    "credit_code": string("统一社会信用代码（18位）", 18, pattern=CREDIT_CODE_PATTERN),
    "legal_representative": string("法定代表人或者负责人姓名"),
    "address": string("住所或者住址", 200),
    "phone": string("联系电话", 30, pattern=r"^[0-9+()\- ]{5,30}$"),
}
CASE = {
    "number": string("案件编号（办案系统案号）", SHORT),
    "cause": string("案由，不含“案”字（如：未依法办理住所变更登记）", 200),
    "filed_on": date("立案日期"),
    "source": string("案件来源（如：投诉举报、监督检查、上级交办、其他部门移送）", NAME),
}
APPLICATION = {
    "item": string("申请的行政许可事项", 200),
    "applicant": string("申请人（当文书送达利害关系人时填写）"),
    "received_on": date("收到申请材料日期"),
    "accepted_on": date("受理日期"),
    "materials": array(ref("material"), "已收到的申请材料"),
    "missing_materials": array(ref("missing_material"), "需要补正的全部材料（一次性告知）", 1),
}
DECISION = {
    "date": date("决定日期"),
    "number": string("决定书文号", SHORT),
    "content": text("决定内容"),
    "reasons": text("理由"),
    "violated": array(string("违反的法律、法规、规章条款", 200), "违反的规定", 1),
    "legal_basis": array(string("法律依据条款，如：《中华人民共和国行政许可法》第三十八条第一款", 200),
                         "法律依据", 1),
    "refer_to": string("告知申请人向其申请的有权行政机关"),
    "license_number": string("许可证件编号", SHORT),
    "valid_from": date("有效期起始日期"),
    "valid_to": date("有效期截止日期"),
    "penalties": array(ref("penalty"), "行政处罚种类和内容", 1),
    "performance": string("履行方式（如罚款缴纳方式、地点）", 1000),
}
COMMON_DEFS = {
    "agency": obj({k: string(v, 200) for k, v in AGENCY_FIELDS.items()},
                  desc="本文书对机关信息的覆盖（不填则使用机关配置）"),
    "handler": obj({"name": string("执法人员姓名"),
                    "certificate_number": string("行政执法证件号码", SHORT)},
                   ["name", "certificate_number"], "执法人员"),
    "penalty": obj({"kind": string("处罚种类（如：警告、罚款、没收违法所得、吊销许可证件）"),
                    "amount_yuan": {"type": "number", "minimum": 0, "description": "金额（元）"},
                    "detail": string("处罚内容说明", LINE)},
                   ["kind"], "一项行政处罚"),
    "material": obj({"name": string("材料名称", 200),
                     "copies": {"type": "integer", "minimum": 1, "maximum": 999,
                                "description": "份数"},
                     "form": string("材料形式（如：原件、复印件、电子件）", 20)},
                    ["name"], "申请材料"),
    "missing_material": obj({"name": string("需要补正的材料名称", 200),
                             "requirement": string("补正要求", 1000)},
                            ["name", "requirement"], "需要补正的材料"),
    "inspection": obj({
        "date": date("检查（核查）日期"),
        "started_at": clock("开始时间"),
        "ended_at": clock("结束时间"),
        "place": string("检查（核查）地点", 200),
        "present": obj({"name": string("在场人姓名"),
                        "relation": string("在场人与当事人关系或者职务", SHORT),
                        "phone": string("在场人联系电话", 30)},
                       ["name"], "在场人"),
        "recorder": string("记录人"),
        "findings": text("检查（核查）情况"),
    }, ["date", "started_at", "ended_at", "place", "findings"], "检查（核查）情况"),
}


def party(*required: str, fields=tuple(PARTY)) -> dict:
    return pick(PARTY, fields, ("kind", "name", *required), "当事人")


def handlers(min_items: int = 2) -> dict:
    return array(ref("handler"), "执法人员（不少于两名）" if min_items >= 2 else "执法人员", min_items, 10)


def evidence(min_items: int = 1) -> dict:
    return array(string("证据名称及证明内容", LINE), "证据", min_items)


def facts(desc: str = "违法事实") -> dict:
    return text(desc)


def _refs(node, found: set) -> None:
    if isinstance(node, dict):
        if "$ref" in node:
            found.add(node["$ref"].rsplit("/", 1)[1])
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


# ---------------------------------------------------------------------------
# 3. Document types
# ---------------------------------------------------------------------------

@dataclass
class Spec:
    type: str
    title: str
    flow: str            # license | penalty | common
    number_kind: str
    seal: str            # license | agency | none
    layout: Callable[[Doc], None]
    props: dict
    required: list
    example: dict
    defs: dict = field(default_factory=dict)
    deadlines: list = field(default_factory=list)
    remedy: bool = False
    party_writes: bool = False
    footer_sign: tuple | None = None   # signers on every page (records)
    description: str = ""

    def catalogue_entry(self) -> dict:
        return {"type": self.type, "title": self.title, "flow": self.flow, "version": VERSION,
                "number_kind": self.number_kind, "seal": self.seal, "remedy": self.remedy,
                "party_writes": self.party_writes, "deadlines": list(self.deadlines)}

    def schema(self) -> dict:
        props = dict(self.props)
        props["issued_on"] = date("文书签发日期（不填则为生成当日）")
        props["agency"] = ref("agency")
        all_defs = {**COMMON_DEFS, **self.defs}
        used: set = set()
        _refs(props, used)
        pending = set(used)
        while pending:  # definitions referring to other definitions
            found: set = set()
            _refs([all_defs[name] for name in pending], found)
            pending = found - used
            used |= found
        top = obj(props, self.required)  # minLength on required strings; names exist
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"{self.title}数据",
            "description": self.description or f"生成《{self.title}》所需的数据",
            **top,
            "$defs": {name: all_defs[name] for name in sorted(used)},
        }


SPECS: list[Spec] = []


def spec(fn: Callable[[], Spec]) -> Callable[[], Spec]:
    SPECS.append(fn())
    return fn


# Example values shared by several payloads.
COMPANY = {
    "kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司",
    "credit_code": "91210302MA10Q8KX3B", "legal_representative": "王明",
    "address": "辽宁省鞍山市铁东区胜利南路示例大厦1层", "phone": "0412-5550101",
}
TRADER = {
    "kind": "organization", "name": "鞍山示例商贸有限公司",
    "credit_code": "91210303MA0U7F2N4K", "legal_representative": "李华",
    "address": "辽宁省鞍山市铁西区人民路示例号", "phone": "13904120000",
}
HANDLERS = [{"name": "张伟", "certificate_number": "21030012345"},
            {"name": "刘洋", "certificate_number": "21030012346"}]
FOOD_ITEM = "食品经营许可（餐饮服务）"
PENALTY_CASE = {"number": "鞍审批案〔2026〕7号", "cause": "未依法办理住所变更登记",
                "filed_on": "2026-09-03", "source": "监督检查"}
REGISTRATION_ARTICLES = ["《中华人民共和国市场主体登记管理条例》第二十四条第一款"]
PENALTY_BASIS = ["《中华人民共和国市场主体登记管理条例》第四十六条"]


def date_line(align: str = "right") -> P:
    return P(FULL * 2 + "年" + FULL * 2 + "月" + FULL * 2 + "日", align)


PENALTY_ITEM = ("{{ loop.index }}. {{ p.kind }}"
                "{% if p.amount_yuan is defined %}：人民币{{ p.amount_yuan }}元{% endif %}"
                "{% if p.detail %}（{{ p.detail }}）{% endif %}")


def evidence_list(d: Doc, path: str = "evidence") -> None:
    d.tag(f"for e in {path}")
    d.body("{{ loop.index }}. {{ e }}")
    d.tag("endfor")


def penalty_list(d: Doc) -> None:
    d.tag("for p in decision.penalties")
    d.body(PENALTY_ITEM)
    d.tag("endfor")


def application(*required: str, **overrides) -> dict:
    return pick(APPLICATION, APPLICATION, required, "行政许可申请", **overrides)


def case(*required: str) -> dict:
    return pick(CASE, CASE, required, "案件")


def decision(fields, required, **overrides) -> dict:
    return pick(DECISION, fields, required, "决定", **overrides)


# -- licensing flow (行政许可) ------------------------------------------------

@spec
def _license_supplement_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，经审查，"
               "申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款"
               "第（四）项的规定，现一次性告知{{ you }}需要补正的全部内容如下：", keep_next=True)
        d.form([14, 56, 86], [
            [L("序号"), L("需要补正的材料"), L("补正要求")],
            TR("for m in application.missing_materials"),
            [L("{{ loop.index }}"), V("{{ m.name }}"), V("{{ m.requirement }}")],
            TR("endfor"),
        ], header=True)
        d.body("请{{ you }}按照上述要求补正全部材料后向本机关提交。{{ you }}提交全部补正材料后，"
               "本机关将依法予以受理。")
        d.body("特此告知。")
        d.contact()
        d.seal()

    return Spec(
        "license_supplement_notice", "补正材料通知书", "license", "许补字", "license", layout,
        props={"party": ref("party"), "application": ref("application")},
        required=["party", "application"],
        defs={"party": party(),
              "application": application("item", "received_on", "missing_materials")},
        deadlines=["license_supplement_notice"],
        description="申请材料不齐全或者不符合法定形式时，一次性告知申请人需要补正的全部内容"
                    "（行政许可法第三十二条）",
        example={
            "party": COMPANY,
            "application": {
                "item": FOOD_ITEM, "received_on": "2026-11-02",
                "missing_materials": [
                    {"name": "食品安全管理制度文本",
                     "requirement": "提交从业人员健康管理、进货查验记录、食品安全自查等制度文本，加盖单位公章。"},
                    {"name": "经营场所和设备布局、操作流程示意图",
                     "requirement": "标明加工操作区域、面积和主要设备位置，比例清晰，加盖单位公章。"},
                    {"name": "食品安全管理人员身份证明复印件",
                     "requirement": "复印件应当清晰完整，并由申请人签字确认。"},
                ],
            },
        },
    )


@spec
def _license_acceptance_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，申请材料齐全、"
               "符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，"
               "本机关决定予以受理，受理日期为{{ application.accepted_on }}。")
        d.body("本机关将自受理之日起二十个工作日内，即于{{ deadlines.license_decision }}前作出行政许可"
               "决定。依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在"
               "上述期限内，本机关将书面告知{{ you }}所需时间。")
        d.body("本机关收到的申请材料如下：", keep_next=True)
        d.form([14, 100, 16, 26], [
            [L("序号"), L("材料名称"), L("份数"), L("形式")],
            TR("for m in application.materials"),
            [L("{{ loop.index }}"), V("{{ m.name }}"), L("{{ m.copies }}"), L("{{ m.form }}")],
            TR("endfor"),
        ], header=True)
        d.body("特此通知。")
        d.contact()
        d.seal()

    return Spec(
        "license_acceptance_notice", "受理通知书", "license", "许受字", "license", layout,
        props={"party": ref("party"), "application": ref("application")},
        required=["party", "application"],
        defs={"party": party(),
              "application": application("item", "received_on", "accepted_on", "materials",
                                         materials=array(ref("material"), "已收到的申请材料", 1))},
        deadlines=["license_decision"],
        example={
            "party": COMPANY,
            "application": {
                "item": FOOD_ITEM, "received_on": "2026-11-09", "accepted_on": "2026-11-09",
                "materials": [
                    {"name": "食品经营许可申请书", "copies": 1, "form": "原件"},
                    {"name": "营业执照", "copies": 1, "form": "复印件"},
                    {"name": "食品安全管理制度文本", "copies": 1, "form": "原件"},
                    {"name": "经营场所和设备布局、操作流程示意图", "copies": 1, "form": "原件"},
                    {"name": "食品安全管理人员身份证明", "copies": 1, "form": "复印件"},
                ],
            },
        },
    )


@spec
def _license_non_acceptance_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，经审查，"
               "{{ decision.reasons }}")
        d.body("根据" + joined("decision.legal_basis") + "的规定，本机关决定不予受理。")
        d.tag("if decision.refer_to")
        d.body("请{{ you }}向{{ decision.refer_to }}提出申请。")
        d.tag("endif")
        d.body("{{ remedy_clause }}")
        d.contact()
        d.seal()

    return Spec(
        "license_non_acceptance_decision", "不予受理决定书", "license", "不予受字", "license", layout,
        props={"party": ref("party"), "application": ref("application"),
               "decision": ref("decision")},
        required=["party", "application", "decision"],
        defs={"party": party(), "application": application("item", "received_on"),
              "decision": decision(["reasons", "legal_basis", "refer_to"],
                                   ["reasons", "legal_basis"])},
        deadlines=["publication_other"], remedy=True,
        description="申请事项不需要取得行政许可或者不属于本机关职权范围等情形，作出不予受理决定"
                    "（行政许可法第三十二条）",
        example={
            "party": {"kind": "person", "name": "赵丽", "id_type": "居民身份证",
                      "id_number": "210381199203154428", "address": "辽宁省海城市示例街道示例路8号",
                      "phone": "13841200000"},
            "application": {"item": FOOD_ITEM, "received_on": "2026-11-03"},
            "decision": {
                "reasons": "你申请的经营场所位于海城市，该经营场所的食品经营许可依法应当向经营场所所在地"
                           "县级行政审批部门申请，申请事项依法不属于本机关职权范围。",
                "legal_basis": ["《中华人民共和国行政许可法》第三十二条第一款第（二）项"],
                "refer_to": "海城市行政审批局",
            },
        },
    )


@spec
def _license_extension_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("本机关于{{ application.accepted_on }}受理{{ you }}提出的{{ application.item }}申请。"
               "因{{ extension.reason }}，本机关不能在二十个工作日内作出决定。经本机关负责人"
               "{% if extension.approved_on %}于{{ extension.approved_on }}{% endif %}批准，根据"
               "《中华人民共和国行政许可法》第四十二条第一款的规定，决定将办理期限延长十个工作日，"
               "本机关将于{{ deadlines.license_decision_extended }}前作出行政许可决定。")
        d.body("特此通知。")
        d.contact()
        d.seal()

    return Spec(
        "license_extension_notice", "延期通知书", "license", "许延字", "license", layout,
        props={"party": ref("party"), "application": ref("application"),
               "extension": obj({"reason": string("延期理由", 1000),
                                 "approved_on": date("本机关负责人批准延期日期")},
                                ["reason"], "延长办理期限")},
        required=["party", "application", "extension"],
        defs={"party": party(), "application": application("item", "accepted_on")},
        deadlines=["license_decision_extended"],
        example={
            "party": COMPANY,
            "application": {"item": FOOD_ITEM, "received_on": "2026-11-09",
                            "accepted_on": "2026-11-09"},
            "extension": {"reason": "该申请涉及中央厨房经营项目，需对经营场所布局和工艺流程进行现场核查并"
                                    "组织专业人员论证，情况复杂",
                          "approved_on": "2026-12-03"},
        },
    )


@spec
def _license_hearing_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("本机关受理的{% if application.applicant %}{{ application.applicant }}提出的{% endif %}"
               "{{ application.item }}申请，{{ reason }}。根据《中华人民共和国行政许可法》第四十七条"
               "第一款的规定，{{ you }}享有要求听证的权利。")
        d.body("{{ you }}要求听证的，应当在被告知听证权利之日起五个工作日内向本机关提出（本告知书于"
               "签发当日送达的，截止日期为{{ deadlines.license_hearing_request }}）。本机关将在收到听证"
               "申请之日起二十个工作日内组织听证，并于举行听证的七日前将听证的时间、地点通知{{ you }}。"
               "{{ you }}不承担本机关组织听证的费用。")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("是否要求听证及理由（由当事人本人书写）：", 4)
        d.sign("当事人签名（盖章）")

    return Spec(
        "license_hearing_notice", "听证告知书", "license", "许听告字", "license", layout,
        props={"party": ref("party"), "application": ref("application"),
               "reason": string("告知听证权利的事由（如：该申请直接涉及申请人与他人之间重大利益关系）",
                                1000)},
        required=["party", "application", "reason"],
        defs={"party": party(), "application": application("item")},
        deadlines=["license_hearing_request"], party_writes=True,
        description="行政许可直接涉及申请人与他人之间重大利益关系时，告知申请人、利害关系人享有要求"
                    "听证的权利（行政许可法第四十七条）。是否要求听证由当事人本人书写。",
        example={
            "party": {"kind": "organization", "name": "鞍山市铁东区邻里物业服务有限公司",
                      "credit_code": "91210302MA0Y3L5T2C", "legal_representative": "孙强",
                      "address": "辽宁省鞍山市铁东区胜利南路示例大厦物业服务中心"},
            "application": {"item": FOOD_ITEM, "applicant": COMPANY["name"],
                            "received_on": "2026-11-09", "accepted_on": "2026-11-09"},
            "reason": "其经营场所位于你单位管理的住宅楼底层，油烟排放设施的设置直接涉及申请人与你单位"
                      "所代表业主之间的重大利益关系",
        },
    )


@spec
def _license_site_inspection_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.field("核查时间", "{{ inspection.date }} {{ inspection.started_at }} 至 {{ inspection.ended_at }}")
        d.field("核查地点", "{{ inspection.place }}")
        d.field("核查人员", HANDLERS_INLINE)
        d.field("记录人", "{{ inspection.recorder }}")
        d.field("申请人", "{{ party.name }}")
        d.field("申请事项", "{{ application.item }}")
        d.tag("if inspection.present")
        d.field("在场人", "{{ inspection.present.name }}{% if inspection.present.relation %}"
                       "（{{ inspection.present.relation }}）{% endif %}"
                       "{% if inspection.present.phone %}　联系电话：{{ inspection.present.phone }}{% endif %}")
        d.tag("endif")
        d.body("核查人员已出示执法证件并告知：我们是{{ agency.name }}的工作人员，现依法对{{ you }}申请"
               "的{{ application.item }}事项进行现场核查，请予配合，如实提供有关情况和材料。{{ you }}"
               "认为核查人员与本事项有直接利害关系的，有权申请回避。")
        d.p("核查情况：", style="ZF Plain", keep_next=True)
        d.body("{{ inspection.findings }}")
        d.record_ack("被核查人")
        d.sign("被核查人签名")
        d.sign("核查人员签名", blanks=2)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "license_site_inspection_record", "现场核查笔录", "license", "许核字", "none", layout,
        props={"party": ref("party"), "application": ref("application"),
               "inspection": ref("inspection"), "handlers": handlers()},
        required=["party", "application", "inspection", "handlers"],
        defs={"party": party(), "application": application("item")},
        footer_sign=("被核查人签名", "核查人员签名"),
        example={
            "party": COMPANY,
            "application": {"item": FOOD_ITEM, "received_on": "2026-11-09",
                            "accepted_on": "2026-11-09"},
            "inspection": {
                "date": "2026-11-16", "started_at": "09:30", "ended_at": "10:40",
                "place": "辽宁省鞍山市铁东区胜利南路示例大厦1层",
                "present": {"name": "王明", "relation": "法定代表人", "phone": "0412-5550101"},
                "recorder": "刘洋",
                "findings": "经营场所面积约180平方米，设有粗加工、烹饪、餐用具清洗消毒和专间等功能区，"
                            "布局与申请材料所附示意图一致；冷藏冷冻设备4台运行正常，消毒柜2台，"
                            "专间设有独立空调和紫外线消毒灯；从业人员8人均持有有效健康证明。",
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _license_grant_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，本机关于"
               "{{ application.accepted_on }}依法受理。经审查，{{ you }}的申请符合法定条件、标准。"
               "根据" + joined("decision.legal_basis") + "的规定，本机关决定准予行政许可。")
        d.body("许可内容：{{ decision.content }}")
        d.tag("if decision.license_number")
        d.body("许可证件编号：{{ decision.license_number }}")
        d.tag("endif")
        d.tag("if decision.valid_to")
        d.body("有效期：自{{ decision.valid_from }}至{{ decision.valid_to }}。")
        d.tag("endif")
        d.body("本机关将于{{ deadlines.license_certificate_delivery }}前向{{ you }}颁发、送达行政许可"
               "证件。请{{ you }}在许可范围内依法从事相关活动；许可事项发生变更的，应当依法申请变更。")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "license_grant_decision", "准予行政许可决定书", "license", "许准字", "license", layout,
        props={"party": ref("party"), "application": ref("application"),
               "decision": ref("decision")},
        required=["party", "application", "decision"],
        defs={"party": party(),
              "application": application("item", "received_on", "accepted_on"),
              "decision": decision(["date", "content", "legal_basis", "license_number",
                                    "valid_from", "valid_to"],
                                   ["date", "content", "legal_basis"])},
        deadlines=["license_certificate_delivery", "publication_decision"],
        example={
            "party": COMPANY,
            "application": {"item": FOOD_ITEM, "received_on": "2026-11-09",
                            "accepted_on": "2026-11-09"},
            "decision": {
                "date": "2026-12-04",
                "content": "准予你单位从事餐饮服务经营活动，经营项目：热食类食品制售、冷食类食品制售；"
                           "经营场所：辽宁省鞍山市铁东区胜利南路示例大厦1层。",
                "legal_basis": ["《中华人民共和国食品安全法》第三十五条第一款",
                                "《中华人民共和国行政许可法》第三十八条第一款"],
                "license_number": "JY22103020012345",
                "valid_from": "2026-12-04", "valid_to": "2031-12-03",
            },
        },
    )


@spec
def _license_denial_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，本机关于"
               "{{ application.accepted_on }}依法受理。经审查，{{ decision.reasons }}")
        d.body("根据" + joined("decision.legal_basis") + "的规定，本机关决定不予行政许可。")
        d.body("{{ remedy_clause }}")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "license_denial_decision", "不予行政许可决定书", "license", "不许字", "license", layout,
        props={"party": ref("party"), "application": ref("application"),
               "decision": ref("decision")},
        required=["party", "application", "decision"],
        defs={"party": party(),
              "application": application("item", "received_on", "accepted_on"),
              "decision": decision(["date", "reasons", "legal_basis"],
                                   ["date", "reasons", "legal_basis"])},
        deadlines=["publication_decision"], remedy=True,
        example={
            "party": COMPANY,
            "application": {"item": FOOD_ITEM, "received_on": "2026-11-09",
                            "accepted_on": "2026-11-09"},
            "decision": {
                "date": "2026-12-04",
                "reasons": "你单位经营场所未设置专用的餐用具清洗消毒设施，冷食类食品加工专间"
                           "未配备独立的空气消毒和温度控制设施，不符合法定的食品经营许可条件。",
                "legal_basis": ["《中华人民共和国食品安全法》第三十三条第一款",
                                "《中华人民共和国行政许可法》第三十八条第二款"],
            },
        },
    )


# -- penalty flow (行政处罚) --------------------------------------------------

FORM_WIDTHS = [28, 50, 28, 50]  # label, value, label, value: 156 mm


def opinion_row(label: str, signer: str, height: float, first: str = "") -> Row:
    """An opinion cell (承办人意见/审核意见/审批意见) with signature and date."""
    return Row([L(label), V([P(first), P(""), sig_cell(signer)], 3)], height)


@spec
def _case_filing_form() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.form(FORM_WIDTHS, [
            [L("案件来源"), V("{{ case.source }}"), L("线索受理日期"), V("{{ filing.received_on }}")],
            [L("案由"), V("{{ case.cause }}", 3)],
            [L("当事人"), V("{{ party.name }}", 3)],
            [L("证件号码"), V(PARTY_ID),
             L("法定代表人（负责人）"), V("{{ party.legal_representative }}")],
            [L("住所（住址）"), V("{{ party.address }}"), L("联系电话"), V("{{ party.phone }}")],
            Row([L("简要案情"), V("{{ facts }}", 3)], 24),
            [L("涉嫌违反的规定"), V(joined("filing.suspected_violations"), 3)],
            opinion_row("承办人意见", "承办人签名", 18, "{{ filing.handler_opinion }}"),
            opinion_row("审核意见", "审核人签名", 17),
            opinion_row("审批意见", "审批人签名", 17),
            [L("承办人"), V(HANDLERS_INLINE, 3)],
            [L("立案日期"), V("{{ case.filed_on }}"), L("办案期限"),
             V("{{ deadlines.penalty_decision }}前作出处理决定")],
        ])
        d.verify(space=False)

    return Spec(
        "case_filing_form", "立案审批表", "penalty", "立字", "none", layout,
        props={"case": ref("case"), "party": ref("party"), "facts": facts("简要案情"),
               "filing": obj({"received_on": date("线索受理日期"),
                              "suspected_violations": array(string("涉嫌违反的条款", 200),
                                                            "涉嫌违反的规定"),
                              "handler_opinion": string("承办人意见（如：建议立案调查）", 1000)},
                             ["handler_opinion"], "立案"),
               "handlers": handlers()},
        required=["case", "party", "facts", "filing", "handlers"],
        defs={"party": party(), "case": case("cause", "filed_on", "source")},
        deadlines=["penalty_decision"],
        example={
            "case": PENALTY_CASE,
            "party": TRADER,
            "facts": "2026年9月1日，执法人员在日常监督检查中发现，鞍山示例商贸有限公司营业执照登记的住所"
                     "为鞍山市铁西区人民路示例号，实际经营地已于2026年6月迁至鞍山市铁西区建设大道示例号，"
                     "该公司未在法定期限内申请住所变更登记。",
            "filing": {"received_on": "2026-09-01",
                       "suspected_violations": REGISTRATION_ARTICLES,
                       "handler_opinion": "当事人涉嫌未依法办理住所变更登记，建议立案调查。"},
            "handlers": HANDLERS,
        },
    )


@spec
def _inquiry_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.field("询问时间", "{{ inquiry.date }} {{ inquiry.started_at }} 至 {{ inquiry.ended_at }}")
        d.field("询问地点", "{{ inquiry.place }}")
        d.field("询问人", HANDLERS_INLINE)
        d.field("记录人", "{{ inquiry.recorder }}")
        d.field("被询问人", "{{ interviewee.name }}" + FULL + "性别：{{ interviewee.gender }}"
                + FULL + "年龄：{{ interviewee.age }}")
        d.field("身份证件号码", "{{ interviewee.id_number }}")
        d.field("工作单位及职务", "{{ interviewee.work }}")
        d.field("住址", "{{ interviewee.address }}" + FULL + "联系电话：{{ interviewee.phone }}")
        d.field("与本案关系", "{{ interviewee.relation }}")
        d.field("案由", "{{ party.name }}{{ case.cause }}案")
        d.field("当事人证件号码", PARTY_ID)
        d.body("告知：我们是{{ agency.name }}的行政执法人员，已向你出示执法证件。现依法就有关情况向你"
               "进行询问调查，你应当如实回答询问、协助调查。你有权进行陈述和申辩；认为询问人与本案有"
               "直接利害关系或者其他关系可能影响公正执法的，你有权申请回避。")
        d.tag("for item in inquiry.qa")
        d.p("问：{{ item.q }}", style="ZF Plain")
        d.p("答：{{ item.a }}", style="ZF Plain")
        d.tag("endfor")
        d.record_ack("被询问人")
        d.sign("被询问人签名")
        d.sign("询问人签名", blanks=2)
        d.sign("记录人签名")
        d.verify()

    interviewee = obj({
        "name": string("被询问人姓名"),
        "gender": {"type": "string", "enum": ["男", "女"], "description": "性别"},
        "age": {"type": "integer", "minimum": 0, "maximum": 150, "description": "年龄"},
        "id_number": PARTY["id_number"],
        "work": string("工作单位及职务", 200),
        "address": string("住址", 200),
        "phone": PARTY["phone"],
        "relation": string("与本案关系（如：当事人的法定代表人、证人）", SHORT),
    }, ["name", "relation"], "被询问人")
    inquiry = obj({
        "date": date("询问日期"),
        "started_at": clock("开始时间"),
        "ended_at": clock("结束时间"),
        "place": string("询问地点", 200),
        "recorder": string("记录人"),
        "qa": array(obj({"q": string("问", 2000), "a": string("答", TEXT)}, ["q", "a"], "一问一答"),
                    "问答记录", 1, 500),
    }, ["date", "started_at", "ended_at", "place", "qa"], "询问")
    return Spec(
        "inquiry_record", "询问笔录", "penalty", "询字", "none", layout,
        props={"case": ref("case"), "party": ref("party"), "interviewee": interviewee,
               "inquiry": inquiry, "handlers": handlers()},
        required=["case", "party", "interviewee", "inquiry", "handlers"],
        defs={"party": party(), "case": case("cause")},
        footer_sign=("被询问人签名", "询问人签名"),
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "interviewee": {"name": "李华", "gender": "男", "age": 46,
                            "id_number": "210303198003150019", "work": "鞍山示例商贸有限公司 执行董事",
                            "address": "辽宁省鞍山市铁西区示例小区3号楼", "phone": "13904120000",
                            "relation": "当事人的法定代表人"},
            "inquiry": {
                "date": "2026-09-08", "started_at": "09:30", "ended_at": "10:20",
                "place": "鞍山市营商环境建设局询问室", "recorder": "刘洋",
                "qa": [
                    {"q": "以上告知内容你是否听清楚？是否申请回避？", "a": "听清楚了，不申请回避。"},
                    {"q": "请介绍一下你公司的基本情况。",
                     "a": "我公司2019年成立，主要从事日用百货批发零售，我是法定代表人。"},
                    {"q": "你公司目前的实际经营地址在哪里？什么时候搬过去的？",
                     "a": "在铁西区建设大道示例号，2026年6月搬过去的。"},
                    {"q": "搬迁后是否向登记机关申请了住所变更登记？",
                     "a": "没有，当时不清楚需要在三十日内办理变更登记。"},
                ],
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _inspection_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.field("检查（勘验）时间",
                "{{ inspection.date }} {{ inspection.started_at }} 至 {{ inspection.ended_at }}")
        d.field("检查（勘验）地点", "{{ inspection.place }}")
        d.field("检查人员", HANDLERS_INLINE)
        d.field("记录人", "{{ inspection.recorder }}")
        d.party_block(phone=True)
        d.tag("if inspection.present")
        d.field("在场人", "{{ inspection.present.name }}{% if inspection.present.relation %}"
                       "（{{ inspection.present.relation }}）{% endif %}"
                       "{% if inspection.present.phone %}　联系电话：{{ inspection.present.phone }}{% endif %}")
        d.tag("endif")
        d.field("案由", "{{ case.cause }}")
        d.body("检查人员已出示执法证件并告知：我们是{{ agency.name }}的行政执法人员，现依法进行现场检查"
               "（勘验），请予配合。你有权进行陈述和申辩；认为检查人员与本案有直接利害关系或者其他关系"
               "可能影响公正执法的，你有权申请回避。")
        d.p("现场检查（勘验）情况：", style="ZF Plain", keep_next=True)
        d.body("{{ inspection.findings }}")
        d.tag("if evidence")
        d.p("现场制作、提取的证据：", style="ZF Plain", keep_next=True)
        evidence_list(d)
        d.tag("endif")
        d.record_ack("当事人（在场人）")
        d.sign("当事人（在场人）签名")
        d.sign("检查人员签名", blanks=2)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "inspection_record", "现场检查（勘验）笔录", "penalty", "检字", "none", layout,
        props={"case": ref("case"), "party": ref("party"), "inspection": ref("inspection"),
               "evidence": evidence(0), "handlers": handlers()},
        required=["case", "party", "inspection", "handlers"],
        defs={"party": party(), "case": case("cause")},
        footer_sign=("当事人（在场人）签名", "检查人员签名"),
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "inspection": {
                "date": "2026-09-04", "started_at": "14:00", "ended_at": "14:50",
                "place": "辽宁省鞍山市铁西区建设大道示例号",
                "present": {"name": "李华", "relation": "法定代表人", "phone": "13904120000"},
                "recorder": "刘洋",
                "findings": "现场为鞍山示例商贸有限公司经营场所，门头悬挂该公司招牌，店内陈列日用百货商品，"
                            "墙面悬挂营业执照正本，登记住所为鞍山市铁西区人民路示例号，与现场地址不一致。"
                            "经核实，原住所已由其他单位使用。",
            },
            "evidence": ["现场照片6张（门头、经营场所内景、营业执照正本）", "营业执照正本复印件1份"],
            "handlers": HANDLERS,
        },
    )


@spec
def _rectification_order() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("经查，{{ you }}{{ facts }}")
        d.body("{{ you }}的上述行为违反了" + joined("rectification.violated") + "的规定。根据"
               + joined("rectification.legal_basis") + "的规定，本机关责令{{ you }}于"
               "{{ rectification.deadline }}前改正上述违法行为。")
        d.body("改正要求：{{ rectification.requirement }}")
        d.body("逾期不改正的，本机关将依法处理。")
        d.field("执法人员", HANDLERS_INLINE)
        d.contact()
        d.seal()

    return Spec(
        "rectification_order", "责令改正通知书", "penalty", "责改字", "agency", layout,
        props={"party": ref("party"), "facts": facts(),
               "rectification": obj({
                   "violated": DECISION["violated"],
                   "legal_basis": DECISION["legal_basis"],
                   "requirement": string("改正要求", 2000),
                   "deadline": date("改正期限"),
               }, ["violated", "legal_basis", "requirement", "deadline"], "责令改正"),
               "handlers": handlers()},
        required=["party", "facts", "rectification", "handlers"],
        defs={"party": party()},
        example={
            "party": TRADER,
            "facts": "于2026年6月将经营场所由鞍山市铁西区人民路示例号迁至鞍山市铁西区建设大道示例号，"
                     "至今未向登记机关申请住所变更登记。",
            "rectification": {
                "violated": REGISTRATION_ARTICLES,
                "legal_basis": PENALTY_BASIS,
                "requirement": "向登记机关提交住所变更登记申请及新住所使用证明等材料，办理住所变更登记。",
                "deadline": "2026-09-25",
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _penalty_prior_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("本机关在办理{{ you }}{{ case.cause }}一案中查明：{{ you }}{{ facts }}")
        d.body("上述事实有下列证据证明：", keep_next=True)
        evidence_list(d)
        d.body("{{ you }}的上述行为违反了" + joined("decision.violated") + "的规定。依据"
               + joined("decision.legal_basis") + "的规定，本机关拟对{{ you }}作出如下行政处罚：")
        penalty_list(d)
        d.body("根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，{{ you }}有权进行陈述和"
               "申辩，可以在本机关作出行政处罚决定前，以书面或者口头形式提出陈述、申辩意见。{{ you }}"
               "提出的事实、理由或者证据成立的，本机关将予以采纳；本机关不因{{ you }}陈述、申辩而给予"
               "更重的处罚。")
        d.tag("if hearing_right")
        d.body("根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，{{ you }}有权要求听证。"
               "要求听证的，应当在收到本告知书之日起五个工作日内向本机关提出（本告知书于签发当日送达的，"
               "截止日期为{{ deadlines.penalty_hearing_request }}）。")
        d.tag("endif")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("当事人陈述、申辩意见（由当事人本人书写）：", 5)
        d.tag("if hearing_right")
        d.handwriting("是否要求听证（由当事人本人书写）：", 2)
        d.tag("endif")
        d.sign("当事人签名（盖章）")

    return Spec(
        "penalty_prior_notice", "行政处罚事先告知书", "penalty", "罚告字", "agency", layout,
        props={"case": ref("case"), "party": ref("party"), "facts": facts(),
               "evidence": evidence(), "decision": ref("decision"),
               "hearing_right": boolean("当事人是否享有要求听证的权利（行政处罚法第六十三条）")},
        required=["case", "party", "facts", "evidence", "decision", "hearing_right"],
        defs={"party": party(), "case": case("cause"),
              "decision": decision(["violated", "legal_basis", "penalties"],
                                   ["violated", "legal_basis", "penalties"])},
        deadlines=["penalty_hearing_request"], party_writes=True,
        description="作出行政处罚决定前，告知拟处罚的事实、理由、依据和内容以及陈述、申辩、要求听证的"
                    "权利（行政处罚法第四十四条、第六十三条）。当事人的意见由本人书写，数据中不含该内容。",
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "facts": "于2026年6月将住所由鞍山市铁西区人民路示例号迁至鞍山市铁西区建设大道示例号，未在法定"
                     "期限内申请住所变更登记；本机关于2026年9月4日责令你公司于2026年9月25日前改正，"
                     "你公司逾期仍未改正。",
            "evidence": ["现场检查（勘验）笔录1份，证明当事人实际经营地址与登记住所不一致",
                         "询问笔录1份，证明当事人搬迁时间及未办理变更登记的事实",
                         "责令改正通知书及送达回证各1份，证明本机关已责令当事人限期改正",
                         "现场照片6张"],
            "decision": {"violated": REGISTRATION_ARTICLES, "legal_basis": PENALTY_BASIS,
                         "penalties": [{"kind": "罚款", "amount_yuan": 20000}]},
            "hearing_right": True,
        },
    )


@spec
def _statement_defence_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.field("时间", "{{ statement.date }} {{ statement.started_at or '　　时　　分' }} 至 "
                      "{{ statement.ended_at or '　　时　　分' }}")
        d.field("地点", "{{ statement.place }}")
        d.field("执法人员", HANDLERS_INLINE)
        d.field("记录人", "{{ statement.recorder }}")
        d.party_block(phone=True)
        d.tag("if representative")
        d.field("陈述申辩人", "{{ representative.name }}（{{ representative.relation }}）"
                           "{% if representative.id_number %}　身份证件号码：{{ representative.id_number }}{% endif %}")
        d.tag("endif")
        d.field("案由", "{{ case.cause }}")
        d.body("执法人员已出示执法证件，并告知当事人拟作出行政处罚的事实、理由、依据和处罚内容，以及依法"
               "享有的陈述、申辩权利。当事人提出的事实、理由或者证据成立的，本机关将予以采纳；本机关不因"
               "当事人陈述、申辩而给予更重的处罚。")
        d.handwriting("陈述、申辩意见（由当事人本人书写）：", 12)
        d.record_ack("陈述申辩人")
        d.sign("陈述申辩人签名")
        d.sign("执法人员签名", blanks=2)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "statement_defence_record", "陈述申辩笔录", "penalty", "陈申字", "none", layout,
        props={"case": ref("case"), "party": ref("party"),
               "representative": obj({"name": string("陈述申辩人姓名"),
                                      "relation": string("与当事人关系（如：委托代理人）", SHORT),
                                      "id_number": PARTY["id_number"]},
                                     ["name", "relation"], "代当事人陈述申辩的人（当事人本人到场时不填）"),
               "statement": obj({"date": date("日期"), "started_at": clock("开始时间"),
                                 "ended_at": clock("结束时间"), "place": string("地点", 200),
                                 "recorder": string("记录人")},
                                ["date", "place"], "陈述申辩的时间、地点"),
               "handlers": handlers()},
        required=["case", "party", "statement", "handlers"],
        defs={"party": party(), "case": case("cause")},
        party_writes=True,
        footer_sign=("陈述申辩人签名", "执法人员签名"),
        description="当事人陈述、申辩的记录。陈述、申辩意见和签名由当事人本人书写，数据中不含该内容。",
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "statement": {"date": "2026-10-23", "started_at": "10:00", "place": "鞍山市营商环境建设局询问室",
                          "recorder": "刘洋"},
            "handlers": HANDLERS,
        },
    )


@spec
def _hearing_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}{% if hearing.requested_on %}于{{ hearing.requested_on }}{% endif %}提出的听证"
               "申请收悉。根据《中华人民共和国行政处罚法》第六十四条的规定，本机关决定就{{ case.cause }}"
               "一案于{{ hearing.date }}{{ hearing.time }}在{{ hearing.place }}"
               "{% if hearing.public %}公开{% else %}不公开{% endif %}举行听证。")
        d.body("听证主持人：{{ hearing.host }}{% if hearing.clerk %}；记录人：{{ hearing.clerk }}{% endif %}。")
        d.body("{{ you }}认为主持人与本案有直接利害关系的，有权申请回避。{{ you }}可以亲自参加听证，也可以"
               "委托一至二人代理；委托代理人参加听证的，应当提交载明委托事项及权限的授权委托书。请携带"
               "身份证明和有关证据材料按时参加听证。")
        d.body("{{ you }}及其代理人无正当理由拒不出席听证或者未经许可中途退出听证的，本机关将终止听证。")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("当事人意见（由当事人本人书写，如是否按时参加听证、是否申请主持人回避及理由）：", 3)
        d.sign("当事人签名（盖章）")

    return Spec(
        "hearing_notice", "听证通知书", "penalty", "听通字", "agency", layout,
        props={"case": ref("case"), "party": ref("party"),
               "hearing": obj({"date": date("听证日期"), "time": clock("听证开始时间"),
                               "place": string("听证地点", 200), "host": string("听证主持人"),
                               "clerk": string("听证记录人"),
                               "public": boolean("是否公开举行（涉及国家秘密、商业秘密或者个人隐私的不公开）"),
                               "requested_on": date("当事人申请听证日期")},
                              ["date", "time", "place", "host", "public"], "听证")},
        required=["case", "party", "hearing"],
        defs={"party": party(), "case": case("cause")},
        deadlines=["hearing_notice_lead"], party_writes=True,
        description="举行听证的七日前通知当事人听证的时间、地点（行政处罚法第六十四条）。"
                    "当事人的意见由本人书写，数据中不含该内容。",
        example={
            # dated: the hearing must be at least 7 working days after the notice
            "issued_on": "2026-10-26",
            "case": PENALTY_CASE, "party": TRADER,
            "hearing": {"date": "2026-11-05", "time": "09:00",
                        "place": "鞍山市营商环境建设局听证室", "host": "陈静", "clerk": "周敏",
                        "public": True, "requested_on": "2026-10-23"},
        },
    )


@spec
def _legal_review_opinion() -> Spec:
    aspects = [("subject", "（一）执法主体", "执法主体是否合法"),
               ("authority", "（二）执法权限", "是否超越法定权限"),
               ("facts", "（三）案件事实", "案件事实是否清楚"),
               ("evidence", "（四）证据", "证据是否确实充分"),
               ("procedure", "（五）执法程序", "程序是否合法"),
               ("legal_basis", "（六）适用依据", "适用法律依据是否正确"),
               ("discretion", "（七）裁量基准", "自由裁量是否适当")]

    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.field("送审机构", "{{ review.submitted_by }}")
        d.field("送审日期", "{{ review.submitted_on }}")
        d.field("案件名称", "{{ party.name }}{{ case.cause }}案")
        d.field("案号", "{{ case.number }}")
        d.field("当事人证件号码", PARTY_ID)
        d.h1("一、拟作出的行政执法决定")
        d.body("{{ review.proposed_decision }}")
        d.h1("二、审核情况")
        for key, heading, _ in aspects:
            d.h2(heading)
            d.body("{{ review.findings.%s }}" % key)
        d.h1("三、审核意见")
        d.body("{{ review.opinion }}")
        d.field("法制审核人员", HANDLERS_INLINE.replace("handlers", "review.reviewers"))
        d.field("审核日期", "{{ review.reviewed_on }}")
        d.sign("法制审核人员签名", blanks=2, date=False)
        d.sign("法制审核机构负责人签名")
        d.verify()

    review = obj({
        "submitted_by": string("送审机构（承办科室）"),
        "submitted_on": date("送审日期"),
        "proposed_decision": text("拟作出的行政执法决定"),
        "findings": obj({key: text(desc) for key, _, desc in aspects},
                        [key for key, _, _ in aspects], "逐项审核情况"),
        "opinion": text("审核意见（同意、修改后同意或者不同意及理由）"),
        "reviewers": array(ref("handler"), "法制审核人员", 1, 10),
        "reviewed_on": date("审核日期"),
    }, ["submitted_by", "submitted_on", "proposed_decision", "findings", "opinion", "reviewers",
        "reviewed_on"], "法制审核")
    return Spec(
        "legal_review_opinion", "重大行政执法决定法制审核意见书", "penalty", "法审字", "none", layout,
        props={"case": ref("case"), "party": ref("party"), "review": review},
        required=["case", "party", "review"],
        defs={"party": party(), "case": case("cause")},
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "review": {
                "submitted_by": "行政审批一科", "submitted_on": "2026-11-06",
                "proposed_decision": "对鞍山示例商贸有限公司处以罚款人民币20000元。",
                "findings": {
                    "subject": "本机关为市场主体登记机关，执法主体合法。",
                    "authority": "拟作出的处罚属于本机关法定职权范围，未超越权限。",
                    "facts": "当事人住所变更后未申请变更登记，经责令改正逾期仍未改正，事实清楚。",
                    "evidence": "现场检查（勘验）笔录、询问笔录、责令改正通知书及送达回证、现场照片等证据"
                                "相互印证，证据确实充分。",
                    "procedure": "已依法立案、调查取证、责令改正、事先告知，当事人申请听证并已举行听证，"
                                 "程序合法。",
                    "legal_basis": "适用《中华人民共和国市场主体登记管理条例》第二十四条第一款、第四十六条，"
                                   "依据正确。",
                    "discretion": "当事人经责令改正后拒不改正，但无其他从重情节，拟处罚款2万元，符合裁量基准。",
                },
                "opinion": "同意承办机构意见。",
                "reviewers": [{"name": "陈静", "certificate_number": "21030012350"},
                              {"name": "周敏", "certificate_number": "21030012351"}],
                "reviewed_on": "2026-11-10",
            },
        },
    )


@spec
def _penalty_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.party_block()
        d.body("本机关于{{ case.filed_on }}对{{ you }}{{ case.cause }}一案立案调查。经查明：{{ facts }}")
        d.body("上述事实有下列证据证明：", keep_next=True)
        evidence_list(d)
        d.tag("if defence_summary")
        d.body("{{ defence_summary }}")
        d.tag("endif")
        d.body("本机关认为，{{ you }}的上述行为违反了" + joined("decision.violated") + "的规定。"
               "{% if decision.reasons %}{{ decision.reasons }}{% endif %}")
        d.body("依据" + joined("decision.legal_basis") + "的规定，本机关决定对{{ you }}作出如下行政处罚：")
        penalty_list(d)
        d.body("履行方式和期限：{{ decision.performance }}")
        d.tag("if decision.penalties|selectattr('amount_yuan')|list")
        d.body("罚款应当自收到本决定书之日起十五日内缴纳（本决定书于签发当日送达的，截止日期为"
               "{{ deadlines.penalty_fine_payment }}）。到期不缴纳罚款的，本机关可以每日按罚款数额的"
               "百分之三加处罚款，加处罚款的数额不超出罚款的数额。")
        d.tag("endif")
        d.body("{{ remedy_clause }}")
        d.body("{{ you }}在法定期限内不申请行政复议或者提起行政诉讼，又不履行本决定的，本机关将依法申请"
               "人民法院强制执行。")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "penalty_decision", "行政处罚决定书", "penalty", "罚决字", "agency", layout,
        props={"case": ref("case"), "party": ref("party"), "facts": facts(),
               "evidence": evidence(),
               "defence_summary": text("告知、陈述申辩和听证情况及采纳意见"),
               "decision": ref("decision")},
        required=["case", "party", "facts", "evidence", "decision"],
        defs={"party": party("address"), "case": case("cause", "filed_on"),
              "decision": decision(["date", "violated", "reasons", "legal_basis", "penalties",
                                    "performance"],
                                   ["date", "violated", "legal_basis", "penalties", "performance"],
                                   reasons=text("处罚裁量理由"))},
        deadlines=["penalty_fine_payment", "publication_decision"], remedy=True,
        description="行政处罚决定书，载明行政处罚法第五十九条规定的事项",
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "facts": "你公司于2026年6月将住所由鞍山市铁西区人民路示例号迁至鞍山市铁西区建设大道示例号，"
                     "未在法定期限内申请住所变更登记。本机关于2026年9月4日责令你公司于2026年9月25日前"
                     "改正，你公司逾期仍未改正。",
            "evidence": ["现场检查（勘验）笔录1份，证明当事人实际经营地址与登记住所不一致",
                         "询问笔录1份，证明当事人搬迁时间及未办理变更登记的事实",
                         "责令改正通知书及送达回证各1份，证明本机关已责令当事人限期改正",
                         "现场照片6张"],
            "defence_summary": "本机关于2026年10月20日向你公司送达《行政处罚事先告知书》，你公司提出"
                               "陈述、申辩并要求听证，本机关于2026年11月5日举行听证。你公司提出的"
                               "“不了解变更登记期限”的理由不能免除法定义务，本机关不予采纳。",
            "decision": {
                "date": "2026-11-16",
                "violated": REGISTRATION_ARTICLES,
                "reasons": "你公司经责令改正后逾期仍未改正，但无其他从重处罚情节，依法在法定幅度内处罚。",
                "legal_basis": PENALTY_BASIS,
                "penalties": [{"kind": "罚款", "amount_yuan": 20000}],
                "performance": "请持本决定书到指定代收银行缴纳罚款，或者通过辽宁省非税收入缴款平台缴纳。",
            },
        },
    )


@spec
def _case_closing_form() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.form(FORM_WIDTHS, [
            [L("案号"), V("{{ case.number }}"), L("立案日期"), V("{{ case.filed_on }}")],
            [L("案由"), V("{{ case.cause }}", 3)],
            [L("当事人"), V("{{ party.name }}"), L("证件号码"), V(PARTY_ID)],
            [L("处罚决定书文号"), V("{{ decision.number }}"), L("决定日期"), V("{{ decision.date }}")],
            [L("处罚内容"),
             V("{% for p in decision.penalties %}{{ p.kind }}{% if p.amount_yuan is defined %}"
               "人民币{{ p.amount_yuan }}元{% endif %}{% if p.detail %}（{{ p.detail }}）{% endif %}"
               "{% if not loop.last %}；{% endif %}{% endfor %}", 3)],
            Row([L("执行情况"), V("{{ closing.execution }}", 3)], 22),
            [L("结案理由"), V("{{ closing.reason }}", 3)],
            opinion_row("承办人意见", "承办人签名", 26, "{{ closing.handler_opinion }}"),
            opinion_row("审核意见", "审核人签名", 24),
            opinion_row("审批意见", "审批人签名", 24),
            [L("承办人"), V(HANDLERS_INLINE, 3)],
        ])
        d.verify(space=False)

    return Spec(
        "case_closing_form", "结案审批表", "penalty", "结字", "none", layout,
        props={"case": ref("case"), "party": ref("party"), "decision": ref("decision"),
               "closing": obj({"execution": string("执行情况", 2000),
                               "reason": string("结案理由（如：处罚决定已执行完毕）", 1000),
                               "handler_opinion": string("承办人意见", 1000)},
                              ["execution", "reason", "handler_opinion"], "结案"),
               "handlers": handlers()},
        required=["case", "party", "decision", "closing", "handlers"],
        defs={"party": party(), "case": case("number", "cause", "filed_on"),
              "decision": decision(["number", "date", "penalties"], ["number", "date"])},
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "decision": {"number": "鞍审批罚决字〔2026〕第3号", "date": "2026-11-16",
                         "penalties": [{"kind": "罚款", "amount_yuan": 20000}]},
            "closing": {"execution": "当事人已于2026年11月25日缴纳罚款人民币20000元，并于2026年11月20日"
                                     "办理住所变更登记。",
                        "reason": "行政处罚决定已执行完毕。",
                        "handler_opinion": "处罚决定已执行完毕，建议结案。"},
            "handlers": HANDLERS,
        },
    )


# -- common ----------------------------------------------------------------------

@spec
def _service_receipt() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.form([40, 116], [
            [L("送达文书名称"), V("{{ service.document_title }}")],
            [L("送达文书文号"), V("{{ service.document_number }}")],
            [L("受送达人"), V("{{ party.name }}{% if party.kind == 'organization' %}"
                              "（法定代表人（负责人）：{{ party.legal_representative }}）{% endif %}")],
            [L("送达地点"), V("{{ service.place }}")],
            [L("送达方式"), V("{{ service.method }}")],
            Row([L("受送达人签名或者盖章"), V([P(""), P(""), date_line()])], 26),
            Row([L("代收人签名及代收理由"), V([P(""), P(""), date_line()])], 26),
            Row([L("见证人签名（留置送达时）"), V([P(""), date_line()])], 20),
            [L("送达人"), V(HANDLERS_INLINE)],
            Row([L("送达人签名"), V([P(""), date_line()])], 20),
            Row([L("备注"), V("{{ service.note }}")], 14),
        ])
        d.seal()

    return Spec(
        "service_receipt", "送达回证", "common", "送字", "agency", layout,
        props={"party": ref("party"),
               "service": obj({
                   "document_title": string("送达文书名称"),
                   "document_number": string("送达文书文号", SHORT),
                   "method": {"type": "string", "description": "送达方式",
                              "enum": ["直接送达", "留置送达", "委托送达", "邮寄送达", "转交送达",
                                       "电子送达", "公告送达"]},
                   "place": string("送达地点", 200),
                   "note": string("备注", 1000),
               }, ["document_title", "document_number", "method", "place"], "送达"),
               "handlers": handlers(1)},
        required=["party", "service", "handlers"],
        defs={"party": party()},
        example={
            "party": TRADER,
            "service": {"document_title": "行政处罚决定书", "document_number": "鞍审批罚决字〔2026〕第3号",
                        "method": "直接送达", "place": "辽宁省鞍山市铁西区建设大道示例号"},
            "handlers": HANDLERS,
        },
    )


# ---------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------

ORDER = [
    "license_supplement_notice", "license_acceptance_notice", "license_non_acceptance_decision",
    "license_extension_notice", "license_hearing_notice", "license_site_inspection_record",
    "license_grant_decision", "license_denial_decision", "case_filing_form", "inquiry_record",
    "inspection_record", "rectification_order", "penalty_prior_notice", "statement_defence_record",
    "hearing_notice", "legal_review_opinion", "penalty_decision", "case_closing_form",
    "service_receipt",
]


def _write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def build(out_dir: Path = HERE) -> list[Path]:
    """Write every template, schema and example, and the catalogue; return the paths."""
    if [s.type for s in SPECS] != ORDER:
        raise RuntimeError("SPECS are not in the catalogue order")
    try:  # the examples must validate; jsonschema is a project dependency
        from jsonschema import Draft202012Validator
    except ImportError:  # pragma: no cover
        Draft202012Validator = None
    written = []
    for s in SPECS:
        schema = s.schema()
        if Draft202012Validator is not None:
            Draft202012Validator.check_schema(schema)
            validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
            errors = sorted(validator.iter_errors(s.example), key=str)
            if errors:
                raise ValueError(f"{s.type}: example is invalid: {errors[0].message}")
        doc = Doc(s.footer_sign)
        s.layout(doc)
        paths = [out_dir / f"{s.type}.docx", out_dir / f"{s.type}.schema.json",
                 out_dir / f"{s.type}.example.json"]
        doc.save(paths[0])
        _write_json(paths[1], schema)
        _write_json(paths[2], s.example)
        written += paths
    catalogue = out_dir / "catalogue.json"
    _write_json(catalogue, [s.catalogue_entry() for s in SPECS])
    written.append(catalogue)
    return written


def main() -> None:
    for path in build():
        print(path.relative_to(HERE.parent.parent.parent) if path.is_relative_to(HERE.parent.parent.parent)
              else path)


if __name__ == "__main__":
    main()
