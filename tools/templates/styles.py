"""Document set-up after GB/T 9704: page, fonts, language, styles, and the
minimal package (only the styles the templates use; no stylesWithEffects,
latent styles, theme, glossary or thumbnail: every generated document
parses and deflates these parts again)."""
from __future__ import annotations

from datetime import datetime

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FANGSONG = "仿宋_GB2312"   # body, 3号
XIAOBIAOSONG = "方正小标宋简体"  # title, 2号
HEITI = "黑体"             # heading 一、
KAITI = "楷体_GB2312"      # heading （一）
SONGTI = "宋体"            # page number, 4号
LANG = "zh-CN"
# The language of Latin-script runs (digits, codes, URLs) in the styles. The
# document's default (docDefaults) is zh-CN for both, which is what the PDF's
# /Lang says; but LibreOffice breaks lines INSIDE numbers ("2\n026年") in runs
# whose Latin-script language is zh-CN, so the styles say en-US for those.
LATIN_LANG = "en-US"

BODY_PT = 16
TEXT_WIDTH = Mm(156)       # 210 - 28 - 26
LINE_PITCH = 579           # twips: 225 mm / 22 lines
# 28 characters per line: 156 mm = 442.2 pt, so a character may take at most
# 15.79 pt. Word would do this with a character grid (docGrid linesAndChars),
# but LibreOffice, which converts our DOCX to PDF, puts every CJK character
# wider than the grid cell into TWO cells. So the section has a line grid
# only and the text is condensed by 0.3 pt: 28 x 15.7 = 439.6 pt, 28
# characters a line in both Word/WPS and LibreOffice.
CHAR_CONDENSE = -6         # twentieths of a point

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

ALIGN = {
    "left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
    "right": WD_ALIGN_PARAGRAPH.RIGHT, "both": WD_ALIGN_PARAGRAPH.JUSTIFY,
}


def el(tag: str, **attrs: str) -> OxmlElement:
    """An OOXML element; attribute names use '_' for ':' (w_val -> w:val)."""
    element = OxmlElement(tag)
    for key, value in attrs.items():
        element.set(qn(key.replace("_", ":", 1)), str(value))
    return element


def ppr_put(ppr, element) -> None:
    """Insert or replace a child of w:pPr keeping the schema's element order."""
    old = ppr.find(element.tag)
    if old is not None:
        ppr.remove(old)
    tag = element.tag.split("}")[1]
    successors = _PPR_SEQ[_PPR_SEQ.index("w:" + tag) + 1:]
    ppr.insert_element_before(element, *successors)


def indent(chars_left: float = 0, chars_right: float = 0, size_pt: float = BODY_PT, first_line_chars: float = 0):
    """A w:ind in characters (Word's 字符 units) with the twips fallback."""
    ind = el("w:ind")
    for side, chars in (("left", chars_left), ("right", chars_right)):
        if chars:
            ind.set(qn(f"w:{side}Chars"), str(int(chars * 100)))
            ind.set(qn(f"w:{side}"), str(int(size_pt * chars * 20)))
    ind.set(qn("w:firstLineChars"), str(int(first_line_chars * 100)))
    ind.set(qn("w:firstLine"), str(int(size_pt * first_line_chars * 20)))
    return ind


def set_fonts(rpr, font: str, size_pt: float | None = None, latin_lang: str = LATIN_LANG) -> None:
    """Latin and East Asian font, size and language (Chinese text) on a w:rPr."""
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
            szcs = el("w:szCs")
            rpr.insert_element_before(szcs, "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd",
                                      "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em",
                                      "w:lang", *_RPR_TAIL)
        szcs.set(qn("w:val"), half_points)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = el("w:lang")
        rpr.insert_element_before(lang, *_RPR_TAIL)
    for attr in list(lang.attrib):
        del lang.attrib[attr]
    lang.set(qn("w:val"), latin_lang)
    lang.set(qn("w:eastAsia"), LANG)


# -- the document ----------------------------------------------------------------

def new_document():
    """python-docx's default document stripped to a minimal base, with the
    GB/T 9704 page and the zhifa styles."""
    doc = Document()
    _strip_package(doc)
    _page(doc)
    _styles(doc)
    body = doc.element.body
    for p in body.findall(qn("w:p")):  # the default document's empty paragraph
        body.remove(p)
    return doc


_STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
_DROPPED_RELS = (_STYLES_WITH_EFFECTS, RT.THEME, RT.WEB_SETTINGS, RT.FONT_TABLE, RT.NUMBERING,
                 RT.CUSTOM_XML, RT.GLOSSARY_DOCUMENT)


def _strip_package(doc) -> None:
    part = doc.part
    for rid, rel in list(part.rels.items()):
        if rel.reltype in _DROPPED_RELS:
            part.drop_rel(rid)
    package_rels = part.package.rels
    for rid, rel in list(package_rels.items()):
        if rel.reltype == RT.THUMBNAIL:
            del package_rels[rid]
    latent = doc.styles.element.find(qn("w:latentStyles"))
    if latent is not None:
        doc.styles.element.remove(latent)
    settings = doc.settings.element
    for tag in ("w:attachedTemplate", "w:rsids", "w:clrSchemeMapping", "w:mathPr"):
        for child in settings.findall(qn(tag)):
            settings.remove(child)
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is None:
        theme_lang = el("w:themeFontLang")
        settings.append(theme_lang)   # order fixed below, before saving
    for attr in list(theme_lang.attrib):
        del theme_lang.attrib[attr]
    theme_lang.set(qn("w:val"), LANG)
    theme_lang.set(qn("w:eastAsia"), LANG)


def _page(doc) -> None:
    section = doc.sections[0]
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
    doc.settings.odd_and_even_pages_header_footer = True
    core = doc.core_properties
    # rendered per document (rendering.py renders core properties with placeholders): the PDF's
    # Title and Author are the document's title and number and the issuing agency, not the software
    core.author = core.last_modified_by = "{{ agency.name }}"
    core.title = "{{ doc_title }} {{ number }}"
    core.comments = core.keywords = core.subject = ""
    core.created = core.modified = datetime(2026, 1, 1)
    core.revision = 1


def _style(doc, name: str, font: str, size: float, *, align=None, first_line=False,
           right_chars: float = 0, snap: bool = True, keep_next: bool = False):
    styles = doc.styles
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles["Normal"]
    style.quick_style = True
    set_fonts(style.element.get_or_add_rPr(), font, size)
    fmt = style.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    if align is not None:
        fmt.alignment = ALIGN[align]
    if keep_next:
        fmt.keep_with_next = True
    ppr = style.element.get_or_add_pPr()
    if not snap:
        ppr_put(ppr, el("w:snapToGrid", w_val="0"))
    if first_line or right_chars:
        ppr_put(ppr, indent(chars_right=right_chars, size_pt=size, first_line_chars=2 if first_line else 0))
    return style


def _exact(style, pt: float) -> None:
    style.paragraph_format.line_spacing = Pt(pt)
    style.paragraph_format.line_spacing_rule = WD_LINE_SPACING.EXACTLY


def _styles(doc) -> None:
    styles = doc.styles
    defaults = styles.element.find(qn("w:docDefaults"))
    # LibreOffice's PDF /Lang comes from here
    set_fonts(defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")), FANGSONG, BODY_PT, latin_lang=LANG)
    ppr_default = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr"))
    ppr_put(ppr_default, el("w:spacing", w_after="0", w_line="240", w_lineRule="auto"))
    normal = styles["Normal"]
    normal_rpr = normal.element.get_or_add_rPr()
    set_fonts(normal_rpr, FANGSONG, BODY_PT)
    normal_rpr.insert_element_before(el("w:spacing", w_val=str(CHAR_CONDENSE)),
                                     "w:w", "w:kern", "w:position", "w:sz")
    normal_ppr = normal.element.get_or_add_pPr()
    ppr_put(normal_ppr, el("w:spacing", w_after="0", w_line="240", w_lineRule="auto"))
    ppr_put(normal_ppr, el("w:jc", w_val="both"))
    # 2号 lines would take two grid lines each; an exact 32 pt keeps the heading compact
    for name in ("ZF Agency", "ZF Title"):
        _exact(_style(doc, name, XIAOBIAOSONG, 22, align="center", snap=False, keep_next=True), 32)
    _style(doc, "ZF Number", FANGSONG, BODY_PT, align="right", keep_next=True)
    _style(doc, "ZF Body", FANGSONG, BODY_PT, align="both", first_line=True)
    _style(doc, "ZF Plain", FANGSONG, BODY_PT, align="both")
    _style(doc, "ZF Heading 1", HEITI, BODY_PT, align="both", first_line=True, keep_next=True)
    _style(doc, "ZF Heading 2", KAITI, BODY_PT, align="both", first_line=True, keep_next=True)
    # signature block: the signing body 右空二字, the date under it 右空四字 (GB/T 9704 7.3.5.1)
    _exact(_style(doc, "ZF Seal", FANGSONG, BODY_PT, align="right", right_chars=2, snap=False), 24)
    _exact(_style(doc, "ZF Seal Date", FANGSONG, BODY_PT, align="right", right_chars=4, snap=False), 24)
    _style(doc, "ZF Seal Name", FANGSONG, 10.5, align="right", right_chars=2, snap=False)
    for name in ("ZF Line", "ZF Sign"):  # handwriting lines; signature lines with the date right
        line = _style(doc, name, FANGSONG, BODY_PT, align="left")
        line.paragraph_format.tab_stops.add_tab_stop(TEXT_WIDTH - Mm(1), WD_TAB_ALIGNMENT.RIGHT)
    _style(doc, "ZF Table", FANGSONG, 12, align="left", snap=False)
    _style(doc, "ZF Small", FANGSONG, 10.5, align="left", snap=False)
    _style(doc, "ZF Verify", FANGSONG, 9, align="left", snap=False)
    _style(doc, "ZF Footer", SONGTI, 14, snap=False)
    _style(doc, "ZF Footer Sign", FANGSONG, 10.5, align="left", snap=False)


def prune_styles(doc, used_ids: set[str]) -> None:
    """Keep only the styles the document uses, their base styles and the defaults."""
    root = doc.styles.element
    by_id = {s.get(qn("w:styleId")): s for s in root.findall(qn("w:style"))}
    keep = set()
    pending = [i for i in used_ids if i in by_id]
    pending += [i for i, s in by_id.items() if s.get(qn("w:default")) == "1"]
    while pending:
        style_id = pending.pop()
        if style_id in keep:
            continue
        keep.add(style_id)
        style = by_id[style_id]
        for link in ("w:basedOn", "w:next", "w:link"):
            ref = style.find(qn(link))
            if ref is not None and ref.get(qn("w:val")) in by_id:
                pending.append(ref.get(qn("w:val")))
    for style_id, style in by_id.items():
        if style_id not in keep:
            root.remove(style)


def order_settings(doc) -> None:
    """w:themeFontLang sits after w:characterSpacingControl... in CT_Settings;
    python-docx appended it at the end, so move it before the first later sibling."""
    settings = doc.settings.element
    theme_lang = settings.find(qn("w:themeFontLang"))
    later = ("w:clrSchemeMapping", "w:doNotIncludeSubdocsInStats", "w:doNotAutoCompressPictures",
             "w:forceUpgrade", "w:captions", "w:readModeInkLockDown", "w:smartTagType",
             "w:schemaLibrary", "w:shapeDefaults", "w:doNotEmbedSmartTags", "w:decimalSymbol",
             "w:listSeparator")
    settings.remove(theme_lang)
    settings.insert_element_before(theme_lang, *later)
