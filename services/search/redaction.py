"""Redaction: personal data found in a decision's text and hidden before
anything reaches the index, the database's public columns or a page.

`Redactor.redact(text, context)` returns the redacted text and every hidden
span (where, which rule, what replaced it), so a publisher can check the
result before publishing (POST /v1/decisions/preview). Rules (DOMAIN.md,
"Publishing decisions"): ID numbers (18 digits with checksum or a valid birth
date, and 15 digits), mobile and landline numbers, bank card numbers (Luhn)
and accounts named as such, e-mail addresses, licence plates, natural
persons' home addresses, and names of natural persons other than the party
(张三 → 张某). When in doubt the text is hidden: a hidden word costs a
reader little, a shown ID number cannot be taken back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

from services.search.analysis import Analyzer

RULES = {
    "id_number": "身份证号码",
    "mobile": "手机号码",
    "landline": "固定电话",
    "bank_card": "银行卡号",
    "bank_account": "银行账号",
    "email": "电子邮箱",
    "plate": "机动车号牌",
    "address": "住址",
    "person_name": "自然人姓名",
}


@dataclass(frozen=True)
class Span:
    start: int          # in the original text
    end: int
    rule: str           # a key of RULES
    replacement: str

    @property
    def label(self) -> str:
        return RULES[self.rule]


@dataclass(frozen=True)
class Redacted:
    original_length: int
    text: str
    spans: tuple[Span, ...]

    def marked_html(self, original: str) -> str:
        """The redacted text with each hidden span as <mark data-rule=…>, escaped
        elsewhere: what the preview page shows a publisher."""
        out, at = [], 0
        for s in self.spans:
            out.append(escape(original[at:s.start]))
            out.append(f'<mark class="redacted" data-rule="{s.rule}" title="{escape(s.label)}">'
                       f'{escape(s.replacement)}</mark>')
            at = s.end
        out.append(escape(original[at:]))
        return "".join(out)


@dataclass
class Context:
    """What the text is about: the party stays visible; other persons do not."""
    party_name: str = ""
    party_is_person: bool = False
    visible_names: tuple[str, ...] = ()          # e.g. an organisation's legal representative
    hidden_names: tuple[str, ...] = ()           # persons named in structured data (handlers, witnesses)
    hidden_addresses: tuple[str, ...] = ()       # a person party's address
    kept_values: tuple[str, ...] = ()            # public values never touched (numbers, codes)


def hidden(rule: str) -> str:
    return f"【{RULES[rule]}已隐去】"


_MARKER = re.compile("【(?:" + "|".join(RULES.values()) + ")已隐去】")


# --- number patterns ------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id18_checksum_ok(value: str) -> bool:
    digits = value[:17]
    if not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits, _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == value[17].upper()


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= date(2100, 1, 1)


def birth_date(id_number: str) -> date | None:
    """The birth date an 18- or 15-digit ID number carries, if valid."""
    s = id_number.strip()
    if len(s) == 18 and s[:17].isdigit():
        y, m, d = int(s[6:10]), int(s[10:12]), int(s[12:14])
    elif len(s) == 15 and s.isdigit():
        y, m, d = 1900 + int(s[6:8]), int(s[8:10]), int(s[10:12])
    else:
        return None
    return date(y, m, d) if _valid_date(y, m, d) else None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


_ALNUM_BEFORE = r"(?<![0-9A-Za-z])"
_ALNUM_AFTER = r"(?![0-9A-Za-z])"
_ID18 = re.compile(_ALNUM_BEFORE + r"\d{17}[\dXx]" + _ALNUM_AFTER)
_ID15 = re.compile(_ALNUM_BEFORE + r"\d{15}" + _ALNUM_AFTER)
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}[\s-]?)[2-9]\d{6,7}(?:(?:-|转|分机)\d{1,6})?(?![0-9])")
# 15-19 digits, optionally grouped by single spaces or dashes; Luhn decides.
_CARD = re.compile(r"(?<![0-9])\d(?:[ -]?\d){14,18}(?![0-9])")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PLATE = re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼]"
                    r"[A-HJ-NP-Za-hj-np-z][·•・\s]?[A-HJ-NP-Za-hj-np-z0-9]{4}[A-HJ-NP-Za-hj-np-z0-9挂学警港澳]"
                    r"[A-HJ-NP-Za-hj-np-z0-9]?" + _ALNUM_AFTER)
# A number after a word that says what it is: hidden whatever its shape.
_PHONE_AFTER_LABEL = re.compile(r"(?:电话|手机|手机号码?|联系方式|座机|传真|Tel|TEL|tel)[:：\s]*((?:\+?\d[\d\s()（）-]{5,20}\d))")
_ACCOUNT_AFTER_LABEL = re.compile(r"(?:账号|帐号|账户|帐户|卡号|银行卡)(?:号码|为|是)?[:：\s]*(\d[\d\s-]{6,30}\d)")

# --- addresses --------------------------------------------------------------------

# Words that introduce a person's home address. "住所" is an organisation's
# registered (public) address and counts only for a person party.
_HOME_LABELS = r"(?:家庭住址|家庭地址|现住址|现住|住址|居住地址?|户籍地址?|户籍所在地|住在|居住在|居住于|家住)"
_ADDRESS_TAIL = r"[:：为是]?\s*([^，。；;,\n（）()]{2,60})"
_HOME_ADDRESS = re.compile(_HOME_LABELS + _ADDRESS_TAIL)
_PARTY_SEAT = re.compile(r"(?:住所|地址)" + _ADDRESS_TAIL)

# --- names ------------------------------------------------------------------------

COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
                     "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里")
SURNAMES = set(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
    "常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴"
    "霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚"
    "岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑"
    "迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹"
    "井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯"
    "隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由")
# Roles that are followed by a person's name: "证人张三", "委托代理人：李四".
_ROLE_WORDS = ("证人", "目击者", "举报人", "投诉人", "申诉人", "委托代理人", "代理人", "法定代理人", "受害人",
               "被害人", "员工", "职工", "店员", "雇员", "工作人员", "负责人", "经理", "厨师", "驾驶员", "司机",
               "顾客", "消费者", "患者", "家属", "配偶", "父亲", "母亲", "邻居", "同事", "户主", "业主", "租户",
               "承租人", "出租人", "村民", "居民", "执法人员", "记录人", "询问人", "被询问人", "检查人", "陪同人",
               "见证人", "在场人", "翻译人员", "联系人", "法定代表人", "股东", "监事", "会计", "收银员", "保安")
_ROLE_NAME = re.compile("(?:" + "|".join(sorted(_ROLE_WORDS, key=len, reverse=True)) + r")[:：\s]?"
                        r"((?:" + "|".join(COMPOUND_SURNAMES) + r")[\u4e00-\u9fff]{1,2}|[\u4e00-\u9fff]{2,3})")
# Characters that end a name rather than belong to it (李四在… → 李四).
_NOT_NAME_CHARS = set("在于称等到向对的与和及是为说将已曾也都均就被把让给从自并又未不系证了过着")


# jieba tags some common words as names (许可, 陈述, 通知书): a tagged word
# counts as a name only when the dictionary finds it rarer than this and it
# does not end like a document, a law or a role.
MAX_NAME_FREQUENCY = 500
_NOT_NAME_ENDINGS = set("法书人证单表费款税令条例局所厅站队科处室院部委会")


def surname_of(name: str) -> str | None:
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound) and len(name) > len(compound):
            return compound
    return name[0] if name and name[0] in SURNAMES else None


def pseudonym(name: str) -> str:
    """张三 → 张某, 欧阳娜娜 → 欧阳某."""
    return (surname_of(name) or name[0]) + "某"


def _trim_name(candidate: str) -> str:
    """A role word's following characters, cut where the name ends."""
    surname = surname_of(candidate) or candidate[0]
    name = candidate
    while len(name) > len(surname) + 1 and name[-1] in _NOT_NAME_CHARS:
        name = name[:-1]
    return name


class Redactor:
    def __init__(self, analyzer: Analyzer):
        self.analyzer = analyzer

    def redact(self, text: str, context: Context | None = None) -> Redacted:
        return self.apply(text, self.detect(text, context))

    def apply(self, text: str, spans) -> Redacted:
        out, at = [], 0
        for s in spans:
            out.append(text[at:s.start])
            out.append(s.replacement)
            at = s.end
        out.append(text[at:])
        return Redacted(len(text), "".join(out), tuple(spans))

    def detect(self, text: str, context: Context | None = None) -> list[Span]:
        context = context or Context()
        patterns = [*self._number_spans(text), *self._address_spans(text, context)]
        # A name found by the tagger never swallows a number or address a pattern found
        # (明津A00000 is a plate after a character, not a person called 明津).
        names = [n for n in self._name_spans(text, context)
                 if not any(n.start < p.end and p.start < n.end for p in patterns)]
        # Text redacted before keeps its markers: redacting twice changes nothing.
        done = [(m.start(), m.end()) for m in _MARKER.finditer(text)]
        return _without_overlaps([s for s in (*patterns, *names)
                                  if not any(s.start < end and start < s.end for start, end in done)])

    # -- rules ---------------------------------------------------------------------

    def _looks_like_name(self, word: str) -> bool:
        return (word[-1] not in _NOT_NAME_ENDINGS
                and (self.analyzer.tokenizer.FREQ.get(word) or 0) < MAX_NAME_FREQUENCY)

    def _number_spans(self, text: str) -> list[Span]:
        spans: list[Span] = []
        for m in _ID18.finditer(text):
            value = m.group()
            if id18_checksum_ok(value) or birth_date(value):
                spans.append(Span(m.start(), m.end(), "id_number", hidden("id_number")))
        for m in _ID15.finditer(text):
            if birth_date(m.group()):
                spans.append(Span(m.start(), m.end(), "id_number", hidden("id_number")))
        for m in _MOBILE.finditer(text):
            spans.append(Span(m.start(), m.end(), "mobile", hidden("mobile")))
        for m in _LANDLINE.finditer(text):
            spans.append(Span(m.start(), m.end(), "landline", hidden("landline")))
        for m in _PHONE_AFTER_LABEL.finditer(text):
            rule = "mobile" if re.sub(r"\D", "", m.group(1)).lstrip("86")[:1] == "1" else "landline"
            spans.append(Span(m.start(1), m.end(1), rule, hidden(rule)))
        for m in _CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group())
            if 15 <= len(digits) <= 19 and luhn_ok(digits):
                spans.append(Span(m.start(), m.end(), "bank_card", hidden("bank_card")))
        for m in _ACCOUNT_AFTER_LABEL.finditer(text):
            spans.append(Span(m.start(1), m.end(1), "bank_account", hidden("bank_account")))
        for m in _EMAIL.finditer(text):
            spans.append(Span(m.start(), m.end(), "email", hidden("email")))
        for m in _PLATE.finditer(text):
            spans.append(Span(m.start(), m.end(), "plate", hidden("plate")))
        return spans

    def _address_spans(self, text: str, context: Context) -> list[Span]:
        spans = [Span(m.start(1), m.end(1), "address", hidden("address")) for m in _HOME_ADDRESS.finditer(text)]
        if context.party_is_person:
            spans += [Span(m.start(1), m.end(1), "address", hidden("address")) for m in _PARTY_SEAT.finditer(text)]
        for address in context.hidden_addresses:
            spans += [Span(m.start(), m.end(), "address", hidden("address"))
                      for m in re.finditer(re.escape(address), text)] if address else []
        return spans

    def _name_spans(self, text: str, context: Context) -> list[Span]:
        keep = {n for n in (context.party_name, *context.visible_names) if n}
        names = {n for n in context.hidden_names if n and len(n) >= 2}
        for m in _ROLE_NAME.finditer(text):
            name = _trim_name(m.group(1))
            if surname_of(name) and 2 <= len(name) <= 4:
                names.add(name)
        tagged = self.analyzer.tagged(text)
        for i, (word, flag) in enumerate(tagged):
            if not flag.startswith("nr") or len(word) > 4:
                continue
            previous = tagged[i - 1][0] if i else ""
            if previous in COMPOUND_SURNAMES:            # 欧阳 / 娜娜
                names.add(previous + word)
            elif len(word) >= 2 and surname_of(word) and self._looks_like_name(word):
                names.add(word)
        names |= _enumerated_names(text, names)
        names = {n for n in names if n not in keep and not any(n in k for k in keep)}
        spans = []
        for name in sorted(names, key=len, reverse=True):
            for m in re.finditer(re.escape(name), text):
                if not _inside_kept(m.start(), m.end(), text, keep):
                    spans.append(Span(m.start(), m.end(), "person_name", pseudonym(name)))
        return spans


def _enumerated_names(text: str, names: set[str]) -> set[str]:
    """Names listed after a found one: 执法人员高明、文静 → 文静."""
    found: set[str] = set()
    for name in list(names):
        for m in re.finditer(re.escape(name) + r"((?:[、和及与][\u4e00-\u9fff]{2,3})+)", text):
            for part in re.split(r"[、和及与]", m.group(1))[1:]:
                part = _trim_name(part) if surname_of(part) else ""
                if part and 2 <= len(part) <= 3:
                    found.add(part)
    return found


def _inside_kept(start: int, end: int, text: str, keep: set[str]) -> bool:
    """A name inside a visible name (李华 in 李华强 when 李华强 is the party) stays."""
    for k in keep:
        for m in re.finditer(re.escape(k), text):
            if m.start() <= start and end <= m.end():
                return True
    return False


def _without_overlaps(spans: list[Span]) -> list[Span]:
    """Earliest first; at one start the longest; a span overlapping a kept one is dropped
    unless it reaches further, in which case the kept one grows to cover both."""
    result: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if result and s.start < result[-1].end:
            last = result[-1]
            if s.end > last.end:
                result[-1] = Span(last.start, s.end, last.rule, last.replacement)
            continue
        result.append(s)
    return result
