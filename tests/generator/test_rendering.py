"""How case data is printed."""
from __future__ import annotations

from datetime import date

from services.generator.rendering import chinese_date, printable


def test_dates_are_printed_the_gb9704_way():
    assert chinese_date(date(2026, 1, 5)) == "2026年1月5日"
    assert printable({"a": ["2026-11-27", "2026-11-27 未到期"]}) == {"a": ["2026年11月27日", "2026-11-27 未到期"]}


def test_amounts_print_without_a_stray_decimal():
    assert printable({"amount_yuan": 20000.0, "b": 1234.5, "c": 3}) == {"amount_yuan": "20000", "b": "1234.50", "c": 3}


def test_each_new_paragraph_of_text_is_indented_two_characters():
    text = "第一段。\n  第二段。\n\n\u3000\u3000第三段。\n"
    assert printable(text) == "第一段。\n\u3000\u3000第二段。\n\u3000\u3000第三段。"
