"""Cosmetic rules a reader notices: 避头尾 in the 卷内文件目录 as drawn (no line
of a cell starts with a closing mark or ends with an opening one), and the
round seal clear of the 立卷人/检查人/立卷日期 rules on the back note however
long the notes above them are. (Carried over from h-archive-records onto
main's wrap_cjk and seal placement; test_units.py and test_rules.py hold
the unit cases and the short back note.)"""
from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from services.archive.layout import NO_LINE_END, NO_LINE_START, ContentsRow, PageMaker, wrap_cjk
from tests.archive import samples
from tests.archive.conftest import download_sealed, open_case, upload
from tests.archive.test_rules import grown, overlaps, page_text, seal_and_rules
from tests.conftest import auth

ARCHIVIST = auth("archivist")

HOSTILE = [
    "鞍审批许〔2026〕第12号", "鞍审批许[2026]7号", "鞍市监罚决〔２０２６〕１２３４号",
    "关于《食品经营许可证》（副本）变更事项的决定，请于十五日内领取。",
    "当事人陈述、申辩笔录（第一次），及“现场检查笔录”。",
    "行政处罚事先告知书（听证）——送达回证！？",
    "《〈中华人民共和国行政许可法〉释义》（2019年版）、（附件）",
]


@pytest.fixture(scope="module")
def maker():
    return PageMaker(Path(os.environ.get("ZHIFA_FONTS_DIR", "build/fonts")))


def drawn_lines(maker, rows) -> list[str]:
    """Every text run the contents page draws (recorded from fpdf2's own text calls)."""
    doc = maker.document(regular_text=None)
    lines = []
    original = doc.text

    def record(x, y, text):
        lines.append(text)
        return original(x, y, text)
    doc.text = record
    maker.contents(doc, "A012-2026-Y-0300", rows)
    maker.render(doc)
    return lines


def test_no_cell_line_of_the_contents_starts_or_ends_with_a_forbidden_mark(maker):
    rng = random.Random(7)
    rows = []
    for seq in range(1, 40):
        number, title = rng.choice(HOSTILE[:3]), "".join(rng.sample(HOSTILE[3:], 2))
        # Padded so the marks fall at many different positions against the column's width.
        rows.append(ContentsRow(seq, "鞍" * (seq % 5) + number, "鞍山市" + "营" * (seq % 3) + "营商环境建设局（审批科）",
                                "甲" * (seq % 11) + title, "20260310", str(seq), "签章原件"))
    texts = [t for t in drawn_lines(maker, rows) if t]
    assert len(texts) > 200
    assert not [t for t in texts if t[0] in NO_LINE_START], [t for t in texts if t[0] in NO_LINE_START][:5]
    assert not [t for t in texts if t[-1] in NO_LINE_END and len(t) > 1], [t for t in texts if t[-1] in NO_LINE_END][:5]
    for row in rows:                           # nothing lost or doubled by the moves
        assert row.title in "".join(texts)


@pytest.mark.parametrize("width", [3, 4, 5, 7, 9, 13])
def test_wrapping_keeps_every_character_even_with_runs_of_marks(width):
    for text in HOSTILE + ["，，，。。。" * 3, "（（（《《〔" + "甲" * 10, "abc, def. (ghi) [jkl]"]:
        lines = wrap_cjk(text, width, len)
        assert "".join(lines) == text
        for n, line in enumerate(lines):
            # A closing mark starts a line only when a run of marks leaves no character to carry.
            assert n == 0 or line[0] not in NO_LINE_START or len(lines[n - 1]) <= 1, (text, width, lines)
            assert len(line) <= width or all(c in NO_LINE_START for c in line[width - 1:]), (text, width, lines)


NOTE = "当事人于听证后补交了经营场所租赁合同及平面图，已一并归档。"


# No notes; notes that push the signature block down its page; notes that carry it to a second page.
@pytest.mark.parametrize("notes", [None, "本卷补充说明：" + NOTE * 5, "本卷补充说明：" + NOTE * 9])
def test_the_seal_does_not_cover_the_signature_rules(archive, tmp_path, notes):
    _, client = archive
    case = open_case(client, archive_number="A012-2026-Y-0301", decision_number="鞍审批许〔2026〕9号",
                     **({"notes": notes} if notes else {}))
    assert upload(client, case["id"], "e.pdf", samples.simple_pdf(1), {"title": "书证", "kind": "evidence",
                                                                      "date": "2026-03-03"}).status_code == 201
    assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：只含书证"},
                       headers=ARCHIVIST).status_code == 202
    sealed, path = download_sealed(client, case["id"], tmp_path)
    last = sealed["seal"]["pages"]
    if notes:
        assert "经营场所租赁合同" in page_text(path, last - 1) + page_text(path, last)
    seal_box, rules = seal_and_rules(path, last, tmp_path)
    assert len(rules) == 3, rules                                     # 立卷人, 检查人, 立卷日期
    assert all(not overlaps(grown(seal_box, 20), rule) for rule in rules), (seal_box, rules)
    # Nor any text: no black pixel under the stamp (its own text and ring are red).
    from PIL import Image
    image = Image.open(next(tmp_path.glob("back*.png"))).convert("RGB")
    px = image.load()
    dark = [(x, y) for y in range(seal_box[1], seal_box[3] + 1) for x in range(seal_box[0], seal_box[2] + 1)
            if sum(px[x, y]) < 250 and px[x, y][0] < 120]
    assert not dark, (seal_box, dark[:5])
