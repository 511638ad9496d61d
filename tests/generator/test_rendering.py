"""How case data is printed, and the DOCX render_docx makes of a template."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import threading
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from services.generator import template_lint
from services.generator.rendering import (JINJA_ENV, amount_cn, chinese_date, printable, qr_png,
                                          render_docx, verify_url)

TEMPLATES = Path(__file__).resolve().parents[2] / "services" / "generator" / "templates"
URL = verify_url("https://zhifa.example.gov.cn", "鞍审批罚决字〔2026〕第12号", "7KQ2M9XA")


# -- printed values ---------------------------------------------------------------

def test_dates_are_printed_the_gb9704_way():
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
    assert printable({"a": ["2026-11-27", "2026-11-27 未到期"]}) == {"a": ["2026年11月27日", "2026-11-27 未到期"]}


def test_amounts_print_without_a_stray_decimal():
    assert printable({"amount_yuan": 20000.0, "b": 1234.5, "c": 3}) == {"amount_yuan": "20000", "b": "1234.50", "c": 3}


def test_numbers_are_printed_as_given_never_rounded():
    assert printable(0.125) == "0.125"
    assert printable(99999999999.99) == "99999999999.99"
    assert printable(1e16) == "10000000000000000"     # not "1e+16"
    for impossible in (float("inf"), float("-inf"), float("nan")):
        with pytest.raises(ValueError):
            printable({"amount_yuan": impossible})


def test_each_new_paragraph_of_text_is_indented_two_characters():
    text = "第一段。\n  第二段。\n\n\u3000\u3000第三段。\n"
    assert printable(text) == "第一段。\n\u3000\u3000第二段。\n\u3000\u3000第三段。"


# -- amounts in capitals ------------------------------------------------------------

@pytest.mark.parametrize("value, printed", [
    (1234567.89, "人民币壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分（¥1,234,567.89）"),
    (20000, "人民币贰万元整（¥20,000.00）"),
    (0.5, "人民币伍角（¥0.50）"),
    (100000000, "人民币壹亿元整（¥100,000,000.00）"),
    (10010.05, "人民币壹万零壹拾元零伍分（¥10,010.05）"),
    (Decimal("0.01"), "人民币壹分（¥0.01）"),
    (0.1, "人民币壹角（¥0.10）"),
    (99999999999.99, "人民币玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分（¥99,999,999,999.99）"),
    (0, "人民币零元整（¥0.00）"),
    (10, "人民币壹拾元整（¥10.00）"),
    (100010, "人民币壹拾万零壹拾元整（¥100,010.00）"),
    (100000001, "人民币壹亿零壹元整（¥100,000,001.00）"),
    (1001000, "人民币壹佰万壹仟元整（¥1,001,000.00）"),
    ("1234.50", "人民币壹仟贰佰叁拾肆元伍角（¥1,234.50）"),   # what printable() makes of 1234.5
])
def test_amounts_are_written_in_capitals_as_banks_require(value, printed):
    assert amount_cn(value) == printed


@pytest.mark.parametrize("value", [0.001, Decimal("1.005"), "12.345", -1, Decimal("-0.01"), float("inf"),
                                   float("nan"), Decimal("NaN"), "1e3", "", 10 ** 16])
def test_amounts_that_cannot_be_printed_exactly_are_refused(value):
    with pytest.raises(ValueError):
        amount_cn(value)


def test_only_numbers_are_amounts():
    for value in (True, None, [1]):
        with pytest.raises(TypeError):
            amount_cn(value)


_NUMERALS = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_PLACES = {"拾": 10, "佰": 100, "仟": 1000}


def _read_capitals(text: str) -> tuple[Decimal, Decimal]:
    """(the amount the capitals say, the amount the figure says)."""
    m = re.fullmatch(r"人民币(.+?)(整?)（¥([\d,]+\.\d\d)）", text)
    assert m, text
    words, whole, figure = m.groups()
    yuan_words, _, small = words.rpartition("元")
    total = section = digit = 0
    for ch in yuan_words:
        if ch in _NUMERALS:
            digit = _NUMERALS[ch]
        elif ch in _PLACES:
            section, digit = section + digit * _PLACES[ch], 0
        elif ch == "万":
            section, digit = (section + digit) * 10 ** 4, 0
        elif ch == "亿":
            total, section, digit = (total + section + digit) * 10 ** 8, 0, 0
        else:
            raise AssertionError(f"unexpected {ch} in {text}")
    cents = {"角": 10, "分": 1}
    small_cents = sum(_NUMERALS[d] * cents[u] for d, u in re.findall(r"([零壹贰叁肆伍陆柒捌玖])([角分])", small))
    assert bool(whole) == (small_cents == 0), text          # 整 exactly when there are no 角 and 分
    return Decimal(total + section + digit) + Decimal(small_cents) / 100, Decimal(figure.replace(",", ""))


def _check_banking_rules(text: str, cents: int) -> None:
    words = text[3:text.index("（")]
    assert "零零" not in words and not re.search("零[万亿元角整]", words.replace("零元整", "")), text
    assert not words.startswith("零") or words == "零元整", text
    assert not re.search("(^|[^壹贰叁肆伍陆柒捌玖])[拾佰仟]", words), text   # 壹拾, never a bare 拾
    # One 零 for each run of zeros between two digits; a run that ends at the
    # 万 or 亿 place without covering its whole section may go unwritten.
    yuan, digits = cents // 100, str(cents // 100) if cents >= 100 else ""
    zeros = sum(1 for run in re.finditer(r"0+(?=[1-9])", digits)
                if (len(digits) - run.end()) % 4 or len(run.group()) >= 4)
    zeros += bool(yuan and cents % 100 and cents // 10 % 10 == 0)     # 元零伍分
    assert words.count("零") == (zeros if cents else 1), text


@settings(max_examples=3000, deadline=None)
@given(cents=st.one_of(st.integers(0, 10 ** 13 - 1), st.integers(0, 10 ** 6)),
       kind=st.sampled_from(["decimal", "float", "text", "int"]))
def test_capitals_read_back_to_the_amount(cents, kind):
    amount = Decimal(cents) / 100
    value = {"decimal": amount, "float": float(amount), "text": f"{amount:f}",
             "int": cents // 100}[kind]
    if kind == "int":
        amount = Decimal(cents // 100)
    text = amount_cn(value)
    assert _read_capitals(text) == (amount, amount)
    _check_banking_rules(text, int(amount * 100))


def test_templates_may_use_the_amount_filter():
    source = "{% for p in decision.penalties %}{{ p.amount_yuan | amount_cn }}{% endfor %}"
    assert JINJA_ENV.from_string(source).render(decision={"penalties": [{"amount_yuan": 20000}]}) == \
        "人民币贰万元整（¥20,000.00）"
    uses = template_lint.placeholder_uses(source)   # the linter's plain Jinja parse accepts the filter
    assert ("decision", "penalties", "[]", "amount_yuan") in [u.path for u in uses]


# -- render_docx: the same document docxtpl makes, faster ------------------------------

def context_for(doc_type: str, **data_changes) -> dict:
    """The context documents.py builds: printable data plus the generated names."""
    entry = next(e for e in json.loads((TEMPLATES / "catalogue.json").read_text(encoding="utf-8"))
                 if e["type"] == doc_type)
    data = json.loads((TEMPLATES / f"{doc_type}.example.json").read_text(encoding="utf-8"))
    data.update(data_changes)
    context = printable(data)
    context.update(
        agency={"name": "鞍山市营商环境建设局", "alias": "鞍山市行政审批局", "short_name": "鞍审批",
                "credit_code": "11210300MB1234567X", "address": "辽宁省鞍山市铁东区南胜利路（示例地址）",
                "postcode": "114000", "phone": "0412-0000000", "contact": "政策法规科",
                "seal_name": "鞍山市营商环境建设局", "reconsideration_body": "鞍山市人民政府",
                "court": "鞍山市铁东区人民法院"},
        number="鞍审批罚决字〔2026〕第12号", doc_title=entry["title"], issued_on="2026年11月16日",
        remedy_clause="如不服本决定，可以在收到本决定书之日起六十日内向鞍山市人民政府申请行政复议。" if entry["remedy"] else "",
        deadlines={rule: "2026年12月8日" for rule in entry["deadlines"]},
        verification_code="7KQ2M9XA", verify_url=URL, verify_page="https://zhifa.example.gov.cn/verify",
        warning_only=False, registered_on="")
    return context


def docxtpl_render(template: Path, context: dict, url: str) -> bytes:
    """The plain way: docxtpl's render and save."""
    tpl = DocxTemplate(str(template))
    tpl.render(dict(context, verify_qr=InlineImage(tpl, io.BytesIO(qr_png(url)), width=Mm(20))),
               jinja_env=JINJA_ENV, autoescape=True)
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def visible_text(docx: bytes) -> list[str]:
    """The text of the body, headers and footers, paragraph by paragraph."""
    doc = Document(io.BytesIO(docx))
    texts = [p.text for p in doc.paragraphs]
    texts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for section in doc.sections:
        texts += [p.text for part in (section.header, section.footer) for p in part.paragraphs]
    return texts


def images(docx: bytes) -> list[bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return [z.read(n) for n in z.namelist() if n.startswith("word/media/")]


@pytest.mark.parametrize("doc_type", sorted(p.stem for p in TEMPLATES.glob("*.docx")))
def test_every_template_renders_as_docxtpl_renders_it(doc_type):
    template, context = TEMPLATES / f"{doc_type}.docx", context_for(doc_type)
    ours, theirs = render_docx(template, context, URL), docxtpl_render(template, context, URL)
    assert visible_text(ours) == visible_text(theirs)
    assert "鞍审批罚决字〔2026〕第12号" in "".join(visible_text(ours))
    assert images(ours) == [qr_png(URL)]
    with zipfile.ZipFile(io.BytesIO(ours)) as z:
        assert z.testzip() is None                   # every CRC and size is right


def test_parts_without_placeholders_are_copied_as_they_are_stored():
    template = TEMPLATES / "penalty_decision.docx"
    out = render_docx(template, context_for("penalty_decision"), URL)
    # docProps/core.xml carries the document's title and agency (the PDF's Title and Author)
    filled = re.compile(r"word/(document|header\d*|footer\d*)\.xml$|.*\.rels$|\[Content_Types\]\.xml$"
                        r"|docProps/core\.xml$")
    with zipfile.ZipFile(template) as t, zipfile.ZipFile(io.BytesIO(out)) as o:
        stored = {i.filename: (i.CRC, i.compress_size) for i in o.infolist()}
        kept = [i for i in t.infolist() if not filled.match(i.filename)]
        assert "word/styles.xml" in [i.filename for i in kept]
        for item in kept:
            assert stored[item.filename] == (item.CRC, item.compress_size), item.filename
            assert o.read(item.filename) == t.read(item.filename)
        assert o.namelist()[0] == "[Content_Types].xml"


def test_data_is_printed_not_interpreted_as_markup():
    context = context_for("penalty_decision")
    context["party"] = dict(context["party"], name="鞍山A&B<商贸>有限公司{{ number }}")
    out = render_docx(TEMPLATES / "penalty_decision.docx", context, URL)
    assert "当事人：鞍山A&B<商贸>有限公司{{ number }}" in visible_text(out)


def test_the_qr_code_scans_to_the_verify_url():
    png = qr_png(URL)
    assert png.startswith(b"\x89PNG") and len(png) < 2000
    import zxingcpp   # a test dependency: the printed code must scan
    image = Image.open(io.BytesIO(png)).convert("L")
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]


def test_the_qr_image_shows_every_module_of_the_code():
    import qrcode
    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, mask_pattern=0)
    qr.add_data(URL)
    modules = qr.get_matrix()
    image = Image.open(io.BytesIO(qr_png(URL))).convert("L")
    scale = image.width // len(modules)
    assert image.size == (len(modules) * scale,) * 2 and scale >= 4
    shown = [[image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) == 0
              for x in range(len(modules))] for y in range(len(modules))]
    assert shown == modules


def test_concurrent_renders_do_not_mix_documents():
    template = TEMPLATES / "penalty_decision.docx"
    numbers = [f"鞍审批罚决字〔2026〕第{n}号" for n in range(1, 9)]
    expected = {n: render_docx(template, dict(context_for("penalty_decision"), number=n), f"{URL}&n={n}")
                for n in numbers}
    results, errors = {}, []

    def render(number: str) -> None:
        try:
            for _ in range(5):
                results[number] = render_docx(template, dict(context_for("penalty_decision"), number=number),
                                              f"{URL}&n={number}")
        except Exception as exc:   # reported below
            errors.append(exc)
    threads = [threading.Thread(target=render, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == expected
    assert images(results[numbers[0]]) == [qr_png(f"{URL}&n={numbers[0]}")]


def test_a_template_edited_in_place_is_read_again(tmp_path):
    template = tmp_path / "penalty_decision.docx"
    template.write_bytes((TEMPLATES / "penalty_decision.docx").read_bytes())
    render_docx(template, context_for("penalty_decision"), URL)
    with zipfile.ZipFile(TEMPLATES / "penalty_decision.docx") as src, zipfile.ZipFile(template, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                data = data.replace("当事人：".encode(), "被处罚人：".encode())
            dst.writestr(item, data)
    os.utime(template, ns=(1, 1))   # a different version, whatever the clock's resolution
    assert "被处罚人：鞍山示例商贸有限公司" in visible_text(render_docx(template, context_for("penalty_decision"), URL))


def _table_template(path: Path) -> Path:
    """A template with a row loop, a header, a footer and the QR code in the header."""
    doc = Document()
    doc.add_paragraph("文号：{{ number }}")
    table = doc.add_table(rows=3, cols=2)
    table.cell(0, 0).text = "{%tr for p in decision.penalties %}"
    table.cell(1, 0).text = "{{ p.kind }}"
    table.cell(1, 1).text = "{{ p.amount_yuan | amount_cn }}"
    table.cell(2, 0).text = "{%tr endfor %}"
    doc.sections[0].header.paragraphs[0].text = "{{ verify_qr }}{{ agency.name }}"
    doc.sections[0].footer.paragraphs[0].text = "验证码：{{ verification_code }}"
    doc.save(path)
    return path


def test_row_loops_headers_and_footers_are_filled(tmp_path):
    template = _table_template(tmp_path / "table.docx")
    context = context_for("penalty_decision")
    context["decision"] = dict(context["decision"], penalties=[{"kind": "罚款", "amount_yuan": 20000},
                                                               {"kind": "没收违法所得", "amount_yuan": "1234.50"}])
    ours = render_docx(template, context, URL)
    assert visible_text(ours) == visible_text(docxtpl_render(template, context, URL))
    doc = Document(io.BytesIO(ours))
    assert [[c.text for c in row.cells] for row in doc.tables[0].rows] == [
        ["罚款", "人民币贰万元整（¥20,000.00）"], ["没收违法所得", "人民币壹仟贰佰叁拾肆元伍角（¥1,234.50）"]]
    header = doc.sections[0].header
    assert header.paragraphs[0].text == "鞍山市营商环境建设局"
    blip = header._element.xpath(".//a:blip")[0]
    assert header.part.related_parts[blip.embed].blob == qr_png(URL)   # the header's own relationship
    assert doc.sections[0].footer.paragraphs[0].text == "验证码：7KQ2M9XA"


@pytest.mark.libreoffice
def test_libreoffice_prints_the_same_text_as_for_docxtpl(tmp_path):
    from services.generator.pdf import PdfConverter
    from shared.fonts import install_fonts

    template, context = TEMPLATES / "penalty_decision.docx", context_for("penalty_decision")
    with PdfConverter(size=1, timeout=120, fonts_conf=install_fonts(tmp_path / "fonts"),
                      work_dir=tmp_path / "pool") as converter:
        texts = []
        for docx in (render_docx(template, context, URL), docxtpl_render(template, context, URL)):
            pdf = tmp_path / f"{len(texts)}.pdf"
            pdf.write_bytes(converter.convert(docx))
            texts.append(subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                                        check=True, text=True).stdout)
    assert "鞍审批罚决字〔2026〕第12号" in re.sub(r"\s", "", texts[0])   # pdftotext spaces digits apart
    assert texts[0] == texts[1]
