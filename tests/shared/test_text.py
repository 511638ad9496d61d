"""shared.text: what the checks read is what the page prints."""
import re
import unicodedata
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import text
from shared.text import clean, control_character_errors


def test_ordinary_data_comes_back_equal_and_without_errors():
    data = {"party": {"name": "鞍山示例商贸有限公司", "address": "铁东区\t胜利路1号"},
            "facts": "第一行\r\n第二行", "evidence": ["照片", {"title": "笔录"}], "amount_yuan": 3.5,
            "hearing_right": True, "none": None}
    assert clean(data, "data") == (data, [])


@pytest.mark.parametrize("invisible", [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u034f", "\ufe0f", "\ufe00",
    "\u2063", "\U000e0041", "\u180e",
])
def test_invisible_characters_are_removed(invisible):
    data = {"statement": {"opinion": f"不{invisible}申请{invisible}听证"}}
    cleaned, errors = clean(data, "data")
    assert errors == []
    assert cleaned == {"statement": {"opinion": "不申请听证"}}


def test_nfc_composes_what_is_printed_as_one_character():
    decomposed = "Ame\u0301lie 张三"
    cleaned, errors = clean({"name": decomposed}, "data")
    assert errors == [] and cleaned["name"] == "Amélie 张三"
    assert cleaned["name"] == unicodedata.normalize("NFC", decomposed)


def test_ideographic_variation_selector_kept_after_han_dropped_elsewhere():
    name = "葛\U000e0100优"
    cleaned, errors = clean({"a": name, "b": "A\U000e0100B"}, "data")
    assert errors == []
    assert cleaned == {"a": name, "b": "AB"}


@pytest.mark.parametrize("bidi", ["\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2068", "\u2069",
                                  "\u200e", "\u200f", "\u061c"])
def test_bidi_controls_refused_naming_field_and_code_point(bidi):
    _, errors = clean({"hearing": {"opinion": f"当事人意见：{bidi}证听请申不"}}, "data")
    assert [e.path for e in errors] == ["data/hearing/opinion"]
    assert f"U+{ord(bidi):04X}" in errors[0].message and "双向" in errors[0].message


def test_text_hiding_format_characters_refused():
    # Interlinear annotation marks can hide the annotated text on screen.
    _, errors = clean({"facts": "事实\ufff9不申请听证\ufffa注\ufffb"}, "data")
    assert [e.path for e in errors] == ["data/facts"]
    assert "U+FFF9" in errors[0].message


def test_controls_surrogates_noncharacters_refused_in_values_and_keys():
    data = {"a": "x\x07", "b": ["ok", "\ud800"], "c": "尾\ufdd0", "na\x1bme": "张三", "d": "\U0010fffe"}
    _, errors = clean(data, "data")
    assert {e.path for e in errors} == {"data/a", "data/b/1", "data/c", "data/na\x1bme", "data/d"}
    key_error = next(e for e in errors if e.path == "data/na\x1bme")
    assert "字段名" in key_error.message and "U+001B" in key_error.message


def test_keys_are_cleaned_and_a_collision_is_refused():
    cleaned, errors = clean({"par\u200bty": {"name": "张三"}}, "data")
    assert cleaned == {"party": {"name": "张三"}} and errors == []
    _, errors = clean({"name": "张三", "na\u200bme": "李四"}, "data")
    assert [e.path for e in errors] == ["data/na\u200bme"]


def test_paths_escape_slash_in_keys_and_follow_lists():
    _, errors = clean({"a/b": ["x", {"c": "\u202e"}]}, "data/x")
    assert [e.path for e in errors] == ["data/x/a~1b/1/c"]


def test_input_is_not_modified():
    data = {"a": "不\u200b申请"}
    clean(data, "data")
    assert data == {"a": "不\u200b申请"}


def test_control_character_errors_keep_their_messages():
    errors = control_character_errors({"party": {"name": "张\x07三"}, "evidence": [{"t": "a\x1bb\x7f"}],
                                       "facts": "c1\x85", "ok": "\xa0é中\t\n"})
    assert {e.path: e.message for e in errors} == {
        "data/party/name": "含有不可见控制字符或无效字符（U+0007），请删除后重试。",
        "data/evidence/0/t": "含有不可见控制字符或无效字符（U+001B、U+007F），请删除后重试。",
        "data/facts": "含有不可见控制字符或无效字符（U+0085），请删除后重试。",
    }



@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    "当事人张三 abc\t\n\r\x00\x1f\x7f\x85\u00ad\u034f\u200b\u200d\u200e\u202a\u202e\u2066\u2060\ufeff\ufe0f"
    "\ufff9\U000e0001\U000e0041\U000e0100\ufdd0\uffff\U0001fffe\ud800e\u0301\u212b\u4e08\u9f98"), max_size=40))
def test_the_fast_path_answers_what_the_character_by_character_rules_answer(value):
    """Strings without anything to drop or refuse skip the per-character walk: whatever the
    mix, the result is the one the per-character rules give (run by a pattern that always
    matches)."""
    fast = text._clean_text(value)
    with mock.patch.object(text, "_needs_attention", lambda: re.compile("")):
        assert fast == text._clean_text(value)
