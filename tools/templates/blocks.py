"""Building blocks of a template: paragraphs, party lines, handwriting and
signature lines, the seal and verification band, forms; `Doc.save` writes
the minimal package with fixed zip timestamps (re-drafting changes nothing)."""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.oxml.ns import qn
from docx.shared import Mm

from tools.templates.styles import ALIGN, TEXT_WIDTH, el, indent, new_document, order_settings, ppr_put, \
    prune_styles

FULL = "\u3000"            # ideographic space, one character wide
QR_CELL = Mm(24)           # the generator's QR image is 20 mm wide
TAG_PREFIX = "{%p "


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
    """A label cell (centred); "\\n" splits a long label between words."""
    return Cell([P(line, "center") for line in text.split("\n")], span, "center")


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


def joined(path: str, var: str = "b", sep: str = "、") -> str:
    """Inline loop printing the items of a string array, separated by sep."""
    return ("{% for " + var + " in " + path + " %}{{ " + var + " }}"
            "{% if not loop.last %}" + sep + "{% endif %}{% endfor %}")


HANDLERS_INLINE = ("{% for h in handlers %}{{ h.name }}（执法证号：{{ h.certificate_number }}）"
                   "{% if not loop.last %}、{% endif %}{% endfor %}")
# in a form cell: one handler a line, so no certificate number is broken
HANDLER_LINES = [P("{%p for h in handlers %}"), P("{{ h.name }}（执法证号：{{ h.certificate_number }}）"),
                 P("{%p endfor %}")]
# 住所 for an organisation, 住址 for a natural person
ADDRESS_LABEL = "{% if party.kind == 'organization' %}住所{% else %}住址{% endif %}"
PERSON_ID = "{{ party.id_type or '身份证件' }}号码"
AMOUNT = "{{ p.amount_yuan | amount_cn }}"   # 人民币贰万元整（¥20,000.00）
# Each kind prints what carries it out (penalties.py requires it): the amount, the licence, scope and period.
PENALTY_TEXT = ("{{ p.kind }}{% if p.amount_yuan is defined %}" + AMOUNT + "{% endif %}"
                "{% if p.license_name %}（{{ p.license_name }}{% if p.license_number %}，编号：{{ p.license_number }}"
                "{% endif %}）{% endif %}"
                "{% if p.scope %}，范围：{{ p.scope }}{% endif %}{% if p.period %}，期限：{{ p.period }}{% endif %}"
                "{% if p.detail %}（{{ p.detail }}）{% endif %}")


class Doc:
    """A template document with the GB/T 9704 page and the zhifa styles.

    `signer` is the signing body's expression: the agency alias for license
    documents (they bear the 行政许可专用章 of the 行政审批局), else the agency.
    `footer_sign`, when given, lists the signers whose signature line is
    printed in the footer of every page (records are signed on each page).
    """

    def __init__(self, signer: str = "agency.name", footer_sign: tuple | None = None) -> None:
        self.doc = new_document()
        self.signer = signer
        self._footers(footer_sign)

    # -- page footers ------------------------------------------------------------
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
            number.alignment = ALIGN[align]
            # GB/T 9704: the page number stands one character in from the text's outer edge
            ppr_put(number._p.get_or_add_pPr(),
                    indent(chars_right=1 if align == "right" else 0,
                           chars_left=1 if align == "left" else 0, size_pt=14))
            self._page_field(number)

    @staticmethod
    def _page_field(paragraph) -> None:
        """"— N —" with a PAGE field (GB/T 9704 page number)."""
        paragraph.add_run("— ")
        for kind in ("begin", None, "separate", "1", "end"):
            run = paragraph.add_run()
            if kind is None:
                instr = el("w:instrText")
                instr.set(qn("xml:space"), "preserve")
                instr.text = " PAGE "
                run._r.append(instr)
            elif kind == "1":
                run.text = "1"
            else:
                run._r.append(el("w:fldChar", w_fldCharType=kind))
        paragraph.add_run(" —")

    # -- paragraphs ---------------------------------------------------------------
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
            par.alignment = ALIGN[align]
        if keep_next:
            par.paragraph_format.keep_with_next = True
        return par

    def blank(self, n: int = 1) -> None:
        for _ in range(n):
            self.doc.add_paragraph(style="ZF Plain")

    def tag(self, statement: str) -> None:
        """A docxtpl paragraph tag ({%p ... %}); the paragraph disappears on rendering."""
        self.p(TAG_PREFIX + statement + " %}", style="ZF Plain")

    def heading_block(self, you: bool = True, case_number: bool = False) -> None:
        """Signing body's name line, title and the document number (文号) line,
        and with `case_number` the case number (案号) the Liaoning forms carry
        under it on every document of a case.

        Sets the template variable `signer`, and with `you` also `you`
        (你单位 for an organisation, 你 for a natural person)."""
        self.tag(f"set signer = {self.signer}")
        if you:
            self.tag("set you = '你单位' if party.kind == 'organization' else '你'")
        self.p("{{ signer }}", style="ZF Agency")
        self.p("{{ doc_title }}", style="ZF Title")
        # dated before it was registered: the registry's 补登记 mark, on the number's line so that
        # no page of a one-page form (送达回证) is pushed over
        self.p("{{ number }}{% if registered_on %}（补登记）{% endif %}", style="ZF Number")
        if case_number:
            self.tag("if case and case.number")
            self.p("案号：{{ case.number }}", style="ZF Number")
            self.tag("endif")

    def salutation(self, who: str = "{{ party.name }}") -> None:
        self.p(who + "：", style="ZF Plain")

    def body(self, *runs, keep_next: bool = False) -> None:
        self.p(*runs, style="ZF Body", keep_next=keep_next)

    def field(self, label: str, value: str, when: str | None = None) -> None:
        """An unindented "label：value" line, printed only `when` the data applies."""
        if when:
            self.tag("if " + when)
        self.p(label + "：" + value, style="ZF Plain")
        if when:
            self.tag("endif")

    def h1(self, text: str) -> None:
        self.p(text, style="ZF Heading 1")

    def h2(self, text: str) -> None:
        self.p(text, style="ZF Heading 2")

    def party_block(self, label: str = "当事人", phone: bool = False) -> None:
        """The party's identity lines: only those that apply to its kind and are given."""
        self.field(label, "{{ party.name }}")
        self.tag("if party.kind == 'organization'")
        self.field("统一社会信用代码", "{{ party.credit_code }}", when="party.credit_code")
        self.field("法定代表人（负责人）", "{{ party.legal_representative }}", when="party.legal_representative")
        self.tag("else")
        self.field(PERSON_ID, "{{ party.id_number }}", when="party.id_number")
        self.tag("endif")
        self.field(ADDRESS_LABEL, "{{ party.address }}", when="party.address")
        if phone:
            self.field("联系电话", "{{ party.phone }}", when="party.phone")

    def party_id_line(self) -> None:
        """The party's registration or ID number, labelled for its kind."""
        self.tag("if party.kind == 'organization'")
        self.field("当事人统一社会信用代码", "{{ party.credit_code }}", when="party.credit_code")
        self.tag("else")
        self.field("当事人" + PERSON_ID, "{{ party.id_number }}", when="party.id_number")
        self.tag("endif")

    def handwriting(self, label: str, lines: int) -> None:
        """A label and blank underlined lines for the party's own handwriting."""
        self.p(label, style="ZF Plain", keep_next=True)
        for i in range(lines):
            self.p(("u", "\t"), style="ZF Line", keep_next=i < min(1, lines - 1))

    def sign(self, label: str, blanks: int = 1, date: bool = True, keep_next: bool = False) -> None:
        """"label：＿＿＿＿  年  月  日" for handwritten signatures."""
        runs: list = [label + "："]
        for i in range(blanks):
            runs += [("u", FULL * (7 if blanks == 1 else 4))] + ([FULL] if i < blanks - 1 else [])
        if date:
            runs.append("\t" + FULL * 2 + "年" + FULL * 2 + "月" + FULL * 2 + "日")
        self.p(*runs, style="ZF Sign", keep_next=keep_next)

    def record_ack(self, who: str = "当事人") -> None:
        """The closing line of a record (笔录), written by the party in person."""
        self.handwriting(f"{who}核对意见（由{who}本人书写“以上笔录已阅，记录属实”）：", 2)

    def contact(self) -> None:
        """Contact lines, each printed only when the profile or request gives it."""
        self.p("{% if agency.contact %}联系人：{{ agency.contact }}" + FULL * 2 + "{% endif %}"
               "{% if agency.phone %}联系电话：{{ agency.phone }}{% endif %}", style="ZF Plain")
        self.tag("if agency.address")
        self.p("机关地址：{{ agency.address }}", style="ZF Plain")
        self.tag("endif")
        self.tag("if agency.postcode")
        self.p("邮政编码：{{ agency.postcode }}", style="ZF Plain")
        self.tag("endif")

    def keep_with_signature(self) -> None:
        """The last body paragraph and everything after it stay on the page of
        what follows (the signature block never stands on a page alone)."""
        body = self.doc.element.body
        for par in reversed(body.findall(qn("w:p"))):
            text = "".join(t.text or "" for t in par.iter(qn("w:t")))
            if text.startswith(TAG_PREFIX):
                continue
            ppr_put(par.get_or_add_pPr(), el("w:keepNext"))
            style = par.find(qn("w:pPr") + "/" + qn("w:pStyle"))
            if style is not None and style.get(qn("w:val")) in ("ZFBody", "ZF Body"):
                return

    def _keep_last_with_next(self) -> None:
        """The last real paragraph so far stays with what follows."""
        for par in reversed(self.doc.element.body.findall(qn("w:p"))):
            if not "".join(t.text or "" for t in par.iter(qn("w:t"))).startswith(TAG_PREFIX):
                ppr_put(par.get_or_add_pPr(), el("w:keepNext"))
                return

    # The QR code carries the full URL; the printed text stays short enough to type.
    VERIFY_TEXT = "扫码或登录 {{ verify_page }} 凭文号和验证码核验真伪。验证码：{{ verification_code }}"

    def seal(self, date: str = "{{ issued_on }}") -> None:
        """Signature block: the signing body, the seal to apply (matching the
        signing body) and the date, right; the verification QR code and text
        at the left of the same band."""
        self.keep_with_signature()
        self.p("", style="ZF Plain", keep_next=True)  # the seal reaches up to one line below the text
        table = self._table([QR_CELL, Mm(52), TEXT_WIDTH - QR_CELL - Mm(52)], 1, borders=False)
        self._keep_row(table.rows[0])
        qr, text, seal = table.rows[0].cells
        self._fill(qr, [P("{{ verify_qr }}", "center", "ZF Small")])
        self._fill(text, [P(self.VERIFY_TEXT, "left", "ZF Verify")])
        self._fill(seal, [P("{{ signer }}", "right", "ZF Seal"),
                          P("{%p if agency.seal_name %}"),
                          P("（{{ agency.seal_name }}{% if '章' not in agency.seal_name %}印章{% endif %}）",
                            "right", "ZF Seal Name"),
                          P("{%p endif %}"),
                          P(date, "right", "ZF Seal Date")])
        for cell in (qr, text, seal):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    def verify(self, space: bool = True) -> None:
        """QR code and verification text, a small borderless band at the end
        (documents without a seal; sealed ones have it beside the seal)."""
        self._keep_last_with_next()
        if space:
            self.p("", style="ZF Small", keep_next=True)
        table = self._table([QR_CELL, TEXT_WIDTH - QR_CELL], 1, borders=False)
        self._keep_row(table.rows[0])
        qr, text = table.rows[0].cells
        self._fill(qr, [P("{{ verify_qr }}", "center", "ZF Small")])
        self._fill(text, [P(self.VERIFY_TEXT, "left", "ZF Verify")])
        for cell in (qr, text):
            cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    # -- tables ---------------------------------------------------------------------
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
            el("w:cantSplit"), "w:trHeight", "w:tblHeader", "w:tblCellSpacing",
            "w:jc", "w:hidden", "w:ins", "w:del", "w:trPrChange")

    @staticmethod
    def _fill(cell, content) -> None:
        items = content if isinstance(content, list) else [content]
        for i, item in enumerate(items):
            item = item if isinstance(item, P) else P(item)
            par = cell.paragraphs[0] if i == 0 else cell.add_paragraph()
            par.style = cell.part.document.styles[item.style]
            par.alignment = ALIGN[item.align]
            if item.text:
                par.add_run(item.text)

    def form(self, widths_mm: list[float], rows: list, header: bool = False) -> None:
        """A bordered form. Rows are Row / list of Cell, or TR row tags;
        with `header`, the first row repeats on each page (list tables)."""
        widths = [Mm(w) for w in widths_mm]
        if abs(sum(widths_mm) - 156) > 0.01:
            raise ValueError(f"form is {sum(widths_mm)} mm wide, not the 156 mm text width")
        ncols = len(widths)
        table = self._table(widths, len(rows))
        if header:
            table.rows[0]._tr.get_or_add_trPr().insert_element_before(
                el("w:tblHeader"), "w:tblCellSpacing", "w:jc", "w:hidden", "w:ins", "w:del",
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

    # -- output ---------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Save the minimal package with fixed zip timestamps."""
        xml = self.doc.element.xml
        if ("{{ you }}" in xml) != ("set you =" in xml):
            raise ValueError(f"{path.name}: use heading_block(you=...) to match the use of {{{{ you }}}}")
        used = set()
        parts = [self.doc.element] + [f._element for s in self.doc.sections
                                       for f in (s.footer, s.even_page_footer)]
        for root in parts:
            for tag in ("w:pStyle", "w:tblStyle", "w:rStyle"):
                used |= {e.get(qn("w:val")) for e in root.iter(qn(tag))}
        prune_styles(self.doc, used)
        order_settings(self.doc)
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


def date_line(align: str = "right") -> P:
    return P(FULL * 2 + "年" + FULL * 2 + "月" + FULL * 2 + "日", align)
