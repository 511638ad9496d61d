"""Redaction rules, property-tested: every generated value of each pattern,
glued to Chinese text on both sides, is hidden and its rule named; public
values (credit codes, amounts, dates, document numbers) stay."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.search.analysis import Analyzer
from services.search.redaction import (
    COMPOUND_SURNAMES, Context, Redactor, _ID_CHECK, _ID_WEIGHTS, birth_date, id18_checksum_ok, luhn_ok, pseudonym)

REDACTOR = Redactor(Analyzer())
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Chinese filler without digits or Latin letters next to the value (a value
# glued to Chinese text must still be found).
filler = st.text(alphabet="经查当事人于年月日在本市区街道销售商品并称货物来源不明现予以处罚，。；：", min_size=0, max_size=30)
digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731
birth = st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31))


@st.composite
def id18(draw):
    region = draw(st.integers(110000, 659999))
    body = f"{region}{draw(birth):%Y%m%d}{draw(digits(3))}"
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]
    return body + (check.lower() if check == "X" and draw(st.booleans()) else check)


@st.composite
def id15(draw):
    return f"{draw(st.integers(110000, 659999))}{draw(birth):%y%m%d}{draw(digits(3))}"


@st.composite
def mobile(draw):
    number = f"1{draw(st.sampled_from('3456789'))}{draw(digits(9))}"
    style = draw(st.sampled_from(["plain", "dash", "space", "+86"]))
    if style == "dash":
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == "space":
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    return ("+86" if style == "+86" else "") + number


@st.composite
def landline(draw):
    area = "0" + draw(st.sampled_from(["10", "21", "24", "412", "411", "755", "898"]))
    local = draw(st.sampled_from("23456789")) + draw(digits(draw(st.sampled_from([6, 7]))))
    style = draw(st.sampled_from(["-", "", "()", "（）"]))
    if style == "()":
        return f"({area}){local}"
    if style == "（）":
        return f"（{area}）{local}"
    return f"{area}{style}{local}"


@st.composite
def bank_card(draw):
    length = draw(st.integers(16, 19))
    body = "62" + draw(digits(length - 3))
    check = next(c for c in "0123456789" if luhn_ok(body + c))
    card = body + check
    if draw(st.booleans()):
        card = " ".join(card[i:i + 4] for i in range(0, len(card), 4))
    return card


emails = st.builds(lambda user, host, tld: f"{user}@{host}.{tld}",
                   st.from_regex(r"[a-z][a-z0-9._]{0,12}[a-z0-9]", fullmatch=True),
                   st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8})?", fullmatch=True),
                   st.sampled_from(["com", "cn", "net", "org"]))
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
plates = st.builds(lambda p, l, sep, rest: f"{p}{l}{sep}{rest}",
                   st.sampled_from("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"),
                   st.sampled_from(PLATE_LETTERS), st.sampled_from(["", "·"]),
                   st.text(alphabet=PLATE_LETTERS + "0123456789", min_size=5, max_size=6))


def hidden_by(text: str, value: str, rules: set[str], context: Context | None = None):
    result = REDACTOR.redact(text, context)
    start = text.index(value)
    covering = [s for s in result.spans if s.start <= start and start + len(value) <= s.end]
    assert value not in result.text, (text, result.text)
    assert covering and covering[0].rule in rules, (value, result.spans)
    return result


@PROPERTY
@given(filler, id18(), filler)
def test_18_digit_id_numbers(before, value, after):
    assert id18_checksum_ok(value)
    hidden_by(before + value + after, value, {"id_number"})


@PROPERTY
@given(filler, id15(), filler)
def test_15_digit_id_numbers(before, value, after):
    hidden_by(before + value + after, value, {"id_number"})


@PROPERTY
@given(filler, mobile(), filler)
def test_mobile_numbers_glued_to_chinese(before, value, after):
    hidden_by(before + value + after, value, {"mobile"})


@PROPERTY
@given(filler, landline(), filler)
def test_landline_numbers(before, value, after):
    hidden_by(before + value + after, value, {"landline"})


@PROPERTY
@given(filler, bank_card(), filler)
def test_bank_card_numbers(before, value, after):
    hidden_by(before + value + after, value, {"bank_card", "id_number"})


@PROPERTY
@given(filler, emails, filler)
def test_email_addresses(before, value, after):
    hidden_by(before + value + after, value, {"email"})


@PROPERTY
@given(filler, plates, filler)
def test_licence_plates(before, value, after):
    hidden_by(before + value + "号车辆" + after, value, {"plate"})


addresses = st.builds(lambda city, road, no, unit, room: f"辽宁省{city}市{road}路{no}号{unit}单元{room}室",
                      st.sampled_from(["鞍山", "沈阳", "大连", "营口"]), st.sampled_from(["胜利", "人民", "建设", "和平"]),
                      st.integers(1, 999), st.integers(1, 9), st.integers(101, 2808))


@PROPERTY
@given(filler, st.sampled_from(["住址：", "家庭住址", "现住", "居住在", "户籍地址："]), addresses)
def test_home_addresses(before, label, value):
    hidden_by(before + label + value + "。", value, {"address"})


@PROPERTY
@given(addresses)
def test_a_person_partys_own_address_is_hidden_wherever_it_appears(value):
    context = Context(party_name="张伟", party_is_person=True, hidden_addresses=(value,))
    hidden_by(f"当事人在{value}经营。", value, {"address"}, context)


given_names = st.text(alphabet="伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华", min_size=1, max_size=2)
roles = st.sampled_from(["证人", "店员", "委托代理人", "举报人", "员工", "执法人员", "在场人"])


@PROPERTY
@given(filler, roles, st.sampled_from(["王", "李", "刘", "陈", "赵", "欧阳", "司马"]), given_names)
def test_names_of_other_persons_become_surname_mou(before, role, surname, given_name):
    name = surname + given_name
    text = f"{before}{role}{name}证明当事人在场。"
    result = hidden_by(text, name, {"person_name"}, Context(party_name="鞍山示例商贸有限公司"))
    assert f"{role}{surname}某" in result.text


def test_the_party_and_an_organisations_legal_representative_stay():
    context = Context(party_name="张伟", party_is_person=True)
    assert "张伟" in REDACTOR.redact("当事人张伟，证人李娜在场。", context).text
    org = Context(party_name="鞍山示例商贸有限公司", visible_names=("李华",))
    assert REDACTOR.redact("法定代表人李华", org).text == "法定代表人李华"


def test_listed_names_are_hidden_too():
    text = REDACTOR.redact("执法人员高明、文静出示执法证件。", Context()).text
    assert "高明" not in text and "文静" not in text and "高某、文某" in text


@pytest.mark.parametrize("public", [
    "统一社会信用代码91210303MA0U7F2N4K", "罚款人民币20000元", "2026年11月16日", "鞍审批罚决字〔2026〕第12号",
    "许可证编号JY22103020012345", "《中华人民共和国行政许可法》第三十八条", "邮政编码：114000",
    "依据《中华人民共和国食品安全法》作出许可，当事人陈述申辩，申请人提交申请书。",
])
def test_public_values_stay(public):
    assert REDACTOR.redact(public, Context(party_name="鞍山示例商贸有限公司")).text == public


@PROPERTY
@given(st.integers(0, 10**9))
def test_amounts_are_never_hidden(amount):
    text = f"罚款人民币{amount}元，没收违法所得{amount}.50元。"
    assert REDACTOR.redact(text).text == text


def test_birth_dates_and_pseudonyms():
    assert birth_date("210302198001011233") == date(1980, 1, 1)
    assert birth_date("210302800101123") == date(1980, 1, 1)
    assert birth_date("210302198013011233") is None
    assert pseudonym("张三") == "张某" and all(pseudonym(s + "娜") == s + "某" for s in COMPOUND_SURNAMES)


@PROPERTY
@given(filler, id18(), mobile(), plates, st.sampled_from(["王", "欧阳"]), given_names)
def test_redacting_twice_changes_nothing(before, id_number, phone, plate, surname, given_name):
    text = f"{before}证人{surname}{given_name}，身份证号{id_number}，电话{phone}，驾驶{plate}号车辆，银行卡号已办理。"
    once = REDACTOR.redact(text).text
    assert REDACTOR.redact(once).text == once


def test_snippets_mark_matches_and_start_at_a_clause():
    from services.search.index import Term, snippet
    body = "甲" * 200 + "。当事人销售过期食品，罚款<b>五千元</b>。" + "乙" * 200
    cut = snippet(body, [Term("罚款")])
    assert cut.startswith("…当事人销售") and "<mark>罚款</mark>" in cut and "&lt;b&gt;" in cut
