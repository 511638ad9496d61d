"""Recognisers of everything but names, each with its validator and context
words, reading the normalised view. A hit is (start, end, rule, action) in
`view.norm`; action "hide" hides, "keep" protects the characters from every
hiding recogniser (credit codes, hotlines, law citations, document and
standard numbers, markers of an earlier pass), "keep_name" protects them from
the name recogniser only (the party, officers, companies and places).
"""
from __future__ import annotations

import re
from typing import NamedTuple

from services.search.redaction import numbers as n
from services.search.redaction.model import MARKER, Context
from services.search.redaction.view import View, build, find_all


class Hit(NamedTuple):
    start: int
    end: int
    rule: str
    action: str          # "hide" | "keep" | "keep_name"


HAN = r"\u4e00-\u9fff\u3400-\u4dbf"
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"


def spaced(word: str) -> str:
    """A label as clerks type it in document heads: 住    址 is 住址."""
    return r"\s*".join(re.escape(c) for c in word)


def labels(*words: str) -> str:
    return "(?:" + "|".join(spaced(w) for w in sorted(words, key=len, reverse=True)) + ")"


# --- public values (kept) ------------------------------------------------------------

_LAW = re.compile(r"《[^《》\n]{1,80}》(?:\s*第[零〇一二三四五六七八九十百千\d]+条)?")
_DOC_NUMBER = re.compile(r"[" + HAN + r"]{1,15}\s*[〔\[(【［]\s*\d{4}\s*[〕\])】］]\s*第?\s*\d{1,6}\s*号")
# Standard numbers: GB (GB/T) with or without the year; other series only with their year.
_STANDARD = re.compile(r"(?<![A-Za-z0-9·•・.\-])(?:GB(?:\s*/\s*[TZ])?\s*\d{1,6}(?:\.\d+)*(?:\s*[-—–]\s*\d{2,4})?|"
                       r"(?:DB\d{0,4}|HJ|JJG|JJF|QB|SN|YY|WS|NY|JGJ|TSG|AQ|LY|SB|GA|JT|CJJ|T/[A-Z]{2,8})(?:\s*/\s*[TZ])?"
                       r"\s*\d{1,6}(?:\.\d+)*\s*[-—–]\s*(?:19|20)\d{2})(?![0-9])")
_EQUIPMENT = re.compile(r"梯\d{2}[" + PROVINCES + r"][A-Z]\d{4,6}(?:\(\d{2}\))?"
                        r"|[容锅起厂客索游车压管]\d{1,2}[" + PROVINCES + r"][A-Z]\d{4,6}(?:\(\d{2}\))?")
_PUBLIC_LABELS = labels("许可证编号", "许可证号", "许可编号", "证书编号", "登记证编号", "使用登记证编号", "营业执照注册号",
                        "注册号", "统一社会信用代码", "社会信用代码", "信用代码", "组织机构代码", "备案编号", "备案号",
                        "执法证编号", "执法证号", "执法证件号码", "执法证件号", "执法编号", "执法证", "批准文号", "报告编号",
                        "检验报告编号", "合同编号", "案件编号", "案号", "设备代码", "注册代码", "设备注册代码", "出厂编号",
                        "产品批号", "生产批号", "批号", "许可证书编号", "决定书文号", "文号", "编号")
_PUBLIC_VALUE = re.compile(_PUBLIC_LABELS + r"\s*(?:为|是|:)?\s*([0-9A-Za-z][0-9A-Za-z\-/()〔〕\[\]]{3,40})")
_AMOUNT = re.compile(r"(?<![\d,.])\d[\d,]{0,20}(?:\.\d{1,4})?\s*(?:万?元|万)")


def public_hits(view: View, context: Context) -> list[Hit]:
    norm = view.norm
    hits = [Hit(m.start(), m.end(), "marker", "keep") for m in MARKER.finditer(norm)]
    for pattern, gate in ((_LAW, "《"), (_DOC_NUMBER, "号"), (_STANDARD, ""), (_EQUIPMENT, ""), (_AMOUNT, "元万")):
        # a regex runs only when one of its characters is there (most texts lack most kinds)
        if gate and not any(c in norm for c in gate):
            continue
        hits += [Hit(m.start(), m.end(), "public", "keep") for m in pattern.finditer(norm)]
    for m in _PUBLIC_VALUE.finditer(norm):
        # an ID number is never public, whatever the label says (残疾人证号 is not 证号)
        compact = re.sub(r"[^0-9A-Za-z]", "", m.group(1))
        if not (n.id18_ok(compact[:18]) and not n.credit_code_ok(compact[:18])):
            hits.append(Hit(m.start(1), m.end(1), "public", "keep"))
    for value in context.kept_values:
        folded = build(value).norm.strip() if value else ""
        if len(folded) >= 3:
            hits += [Hit(m.start(), m.end(), "public", "keep") for m in find_all(folded, norm)]
    return hits


# --- numbers ------------------------------------------------------------------------

_ID_LABEL = re.compile(r"(?:身份证|身份号码|公民身份|证件号码|居民身份)")
_CREDIT_LABEL = re.compile(r"(?:信用代码|社会信用|机构代码)")
_REG_LABEL = re.compile(r"(?:注册号|营业执照)")
_DISABILITY_LABEL = re.compile(r"残\s*疾\s*人?\s*证")
_EXTENSION = re.compile(r"\s*(?:转|分机|分机号|ext\.?|EXT\.?|Ext\.?|[-—])\s*(\d{1,6})(?![0-9])")


# lengths of the kinds: landline 10-12 (13 with 86), mobile 11/13/15, ID 15/18 (+1-4), card 15-19
_NUMBER_LENGTHS = frozenset({10, 11, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22})
_MOBILE_PREFIX = re.compile(r"(?:\(\s*\+?\s*86\s*\)|\(?\s*\+\s*86|\(?\s*\+)\s*$")
_UNIT_CHARS = set("室号楼栋幢层单户组米元万年月日天个次人件台吨")


def _before(norm: str, at: int, width: int = 24) -> str:
    return norm[max(0, at - width):at]


def classify(value: str, norm: str, start: int, end: int, kept: frozenset[str],
             whole: bool = True) -> tuple[str, str] | None:
    """(rule, action) of one join of a run's groups, or None. A join that is only
    part of its run is never kept on its check digit alone (a registration number
    inside an account number is a coincidence)."""
    if value in kept or value.upper() in kept:
        return "public", "keep"
    if value in n.HOTLINES and len(value) >= 5 and whole and norm[end:end + 1] not in _UNIT_CHARS:
        return "public", "keep"
    if value.isdigit() and norm[end:end + 1] in ("元", "万"):
        return "public", "keep"
    length = len(value)
    if value[:2] in ("00", "86") and n.mobile_ok(value):       # 0086/86 and a mobile number
        return "mobile", "hide"
    if length == 18:
        upper = value.upper()
        if n.credit_code_ok(upper):
            if not upper[:17].isdigit():
                return "credit_code", "keep"
            # All digits: a credit code, an ID number or a card can all pass their checks.
            # A label decides; otherwise an ID of a real region is hidden, a credit code's
            # prefix (11-13, 19, 51-53, 59, 91-93) kept, a card hidden; in doubt hidden.
            label = _before(norm, start)
            if _ID_LABEL.search(label):
                return "id_number", "hide"
            if _CREDIT_LABEL.search(label):
                return "credit_code", "keep"
            if n.id18_ok(upper) and upper[:2] in n.ID_REGIONS:
                return "id_number", "hide"
            if upper[0] in "159" and upper[1] in "1239" and whole:
                return "credit_code", "keep"
            if n.card_ok(upper):
                return "bank_card", "hide"
            return ("credit_code", "keep") if whole else None
        if n.id18_ok(value):
            return ("disability_card" if _DISABILITY_LABEL.search(_before(norm, start)) else "id_number"), "hide"
    if 19 <= length <= 22 and n.id18_checksum_ok(value[:18]) and n.id18_ok(value[:18]) and n.birth_date(value[:18]):
        # a number that contains an ID number (残疾人证: the ID and a 2-digit suffix)
        return ("disability_card" if _DISABILITY_LABEL.search(_before(norm, start)) else "id_number"), "hide"
    if length == 15 and value.isdigit():
        label = _before(norm, start)
        if n.id15_ok(value) and _ID_LABEL.search(label):
            return "id_number", "hide"
        if _REG_LABEL.search(label) or (n.registration_ok(value) and not n.id15_ok(value) and whole):
            return "registration", "keep"
        if n.id15_ok(value):
            return "id_number", "hide"
    if n.mobile_ok(value):
        return "mobile", "hide"
    if n.landline_ok(value):
        return "landline", "hide"
    if n.card_ok(value):
        return "bank_card", "hide"
    return None


def number_hits(view: View, context: Context) -> list[Hit]:
    norm = view.norm
    kept = frozenset(re.sub(r"[^0-9A-Za-z]", "", build(v).norm).upper() for v in context.kept_values if v)
    hits: list[Hit] = []
    seen: dict[tuple, tuple[str, str] | None] = {}
    for m in n.RUN.finditer(norm):
        if not any(c.isdigit() for c in m.group()):
            continue
        groups = [(m.start() + g.start(), m.start() + g.end(), g.group())
                  for g in n.GROUP.finditer(m.group())]
        i = 0
        while i < len(groups):
            found = None
            last, size, sizes = i, 0, []
            while last < len(groups) and size + len(groups[last][2]) <= 26:
                size += len(groups[last][2])
                sizes.append(size)
                last += 1
            joined = "".join(g[2] for g in groups[i:last])
            for j in range(last - 1, i - 1, -1):
                value = joined[:sizes[j - i]]
                whole = i == 0 and j == len(groups) - 1
                # lengths no kind has: only a kept value or a whole run (a hotline) can matter
                if len(value) < 3 or (len(value) not in _NUMBER_LENGTHS and not whole and value.upper() not in kept):
                    continue
                key = (value, whole, norm[max(0, groups[i][0] - 24):groups[i][0]], norm[groups[j][1]:groups[j][1] + 1])
                kind = seen.get(key, False)
                if kind is False:       # repeated numbers (tables, hostile input) are classified once
                    kind = seen[key] = classify(value, norm, groups[i][0], groups[j][1], kept, whole)
                if kind:
                    found = j, kind
                    break
            if not found:
                i += 1
                continue
            j, (rule, action) = found
            start, end = groups[i][0], groups[j][1]
            if rule == "mobile":
                prefix = _MOBILE_PREFIX.search(norm, max(0, start - 8), start)
                if prefix:
                    start = prefix.start()
            if rule in ("landline", "mobile"):
                ext = _EXTENSION.match(norm, end)
                if ext:
                    end = ext.end()
            if start > 0 and norm[start - 1] == "(" and ")" in norm[start:end]:
                start -= 1                     # (139)0412-5679: the bracket opened before the run
            hits.append(Hit(start, end, rule, action))
            i = j + 1
    return hits


_PHONE_LABEL = labels("座机号码", "座机", "固定电话", "固话", "联系电话", "联系方式", "电话号码", "电话", "手机号码", "手机号",
                      "手机", "宅电", "家庭电话", "办公电话", "传真", "联系号码", "号码")
_PHONE_AFTER_LABEL = re.compile(_PHONE_LABEL + r"\s*(?:是|为|:)?\s*(\+?\d(?:" + n.SEP + r"?\d){4,19})(?![0-9])")
_ACCOUNT_LABEL = labels("银行账号", "银行帐号", "账号", "帐号", "账户", "帐户", "银行卡号", "银行卡", "储蓄卡号", "储蓄卡",
                        "借记卡", "信用卡", "卡号", "存折", "开户账号", "收款账号", "收款账户", "付款账号", "对公账户")
_ACCOUNT_AFTER_LABEL = re.compile(_ACCOUNT_LABEL + r"(?:号码?)?\s*(?:是|为|:)?\s*(\d(?:" + n.SEP + r"?\d){5,29})(?![0-9])")


_PAREN_LANDLINE = re.compile(r"\(\s*0\d{2,3}\s*\)\s*[2-9]\d{2,3}[\s-]?\d{3,4}(?![0-9])")


def labelled_number_hits(view: View, context: Context) -> list[Hit]:
    norm = view.norm
    kept = {re.sub(r"[^0-9A-Za-z]", "", build(v).norm).upper() for v in context.kept_values if v}
    hits = []
    for m in _PAREN_LANDLINE.finditer(norm):
        if re.sub(r"\D", "", m.group()) in kept:
            continue
        ext = _EXTENSION.match(norm, m.end())
        hits.append(Hit(m.start(), ext.end() if ext else m.end(), "landline", "hide"))
    for m in _PHONE_AFTER_LABEL.finditer(norm):
        digits = re.sub(r"\D", "", m.group(1))
        if digits in n.HOTLINES or digits in kept:
            continue
        rule = "mobile" if n.mobile_ok(digits) or digits[:1] == "1" else "landline"
        end = m.end(1)
        ext = _EXTENSION.match(norm, end)
        hits.append(Hit(m.start(1), ext.end() if ext else end, rule, "hide"))
    for m in _ACCOUNT_AFTER_LABEL.finditer(norm):
        hits.append(Hit(m.start(1), m.end(1), "bank_account", "hide"))
    return hits


# --- other kinds ----------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}\s?@\s?[A-Za-z0-9\-]+(?:\s?\.\s?[A-Za-z0-9\-]+)*\s?\.\s?[A-Za-z]{2,10}(?![A-Za-z])")
_WXID = re.compile(r"wxid_[A-Za-z0-9_\-]{3,40}", re.I)
_IM = re.compile(r"(?:" + labels("微信号码", "微信账号", "微信号", "微信", "威信", "V信", "vx", "VX", "wx", "WX", "WeChat",
                                  "wechat", "weixin") +
                 r"|(?:QQ|qq|Qq|扣扣)\s*(?:号码?|账号)?)\s*(?:号码?|账号|ID|id)?\s*(?:是|为|:|\()?\s*"
                 r"([A-Za-z0-9][A-Za-z0-9_\-]{4,39})")
_PLATE = re.compile(r"(?<![0-9A-Za-z梯容锅起厂客索游车压管])[" + PROVINCES + r"]\s{0,2}[A-Za-z]\s{0,2}[\-·•・.]?\s{0,2}"
                    r"(?:[A-Za-z0-9]{5,6}|[A-Za-z0-9]{4}[挂学警港澳领使])(?![0-9A-Za-z])")
_CN_DATE = r"[一二三四五六七八九〇零]{4}\s*年\s*[一二三四五六七八九十]{1,2}\s*月(?:\s*[一二三四五六七八九十]{1,3}\s*日)?"
_DATE = (r"(?:\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日?)?|\d{4}\s*[-./]\s*\d{1,2}\s*[-./]\s*\d{1,2}|"
         r"(?<!\d)\d{8}(?!\d)|" + _CN_DATE + ")")
_BIRTH = re.compile(r"(?:" + labels("出生日期", "出生年月日", "出生年月", "出生时间", "出生于", "生日", "生于", "出生") +
                    r")\s*(?:是|为|:)?\s*(" + _DATE + r")"
                    r"|(" + _DATE + r")\s*(?:出生|生人|生)(?![产效活意])")
_CN_AGE = r"[一二三四五六七八九十]{1,3}"
_AGE = re.compile(r"(?:(现年|年龄|今年|时年|年仅|[（(]|[,，;；])\s*(?:为|是|:)?\s*)((?:\d{1,3}|" + _CN_AGE + r")\s*周?岁(?:半)?)"
                  r"(?!以上|以下|以内|之前|之后|前|后|的未成年|未成年|至|到)")
_HEALTH_TERMS = ("精神分裂症", "精神分裂", "抑郁症", "躁郁症", "双相情感障碍", "精神病", "精神疾病", "精神障碍", "癫痫", "艾滋病",
                 "HIV阳性", "HIV", "乙型肝炎", "乙肝", "肺结核", "结核病", "梅毒", "癌症", "肺癌", "胃癌", "肝癌", "乳腺癌",
                 "白血病", "尿毒症", "糖尿病", "高血压", "心脏病", "脑梗塞", "脑梗", "脑瘤", "肿瘤", "偏瘫", "截瘫", "聋哑",
                 "失明", "智力残疾", "肢体残疾", "精神残疾", "视力残疾", "听力残疾", "言语残疾", "多重残疾", "阿尔茨海默病",
                 "老年痴呆", "自闭症", "孤独症", "唐氏综合征", "怀孕", "妊娠", "哺乳期", "流产", "吸毒成瘾")
_HEALTH = re.compile(r"(?:(?:[一二三四1-4]\s*级|轻度|中度|重度|严重)\s*)?(?:" + "|".join(sorted(_HEALTH_TERMS, key=len, reverse=True)) +
                     r")(?:\s*\d{1,2}\s*(?:个多?月|周))?"
                     r"|(?<=患有)残疾|(?<=系)残疾人|(?:[一二三四1-4]\s*级)\s*残疾")
_HEALTH_GATE = tuple(t[:2] for t in _HEALTH_TERMS) + ("残疾",)
_HEALTH_NOT = re.compile(r"防治|防控|筛查|检测机构|宣传|保障|专用|联合会|人证|法|条例|规定|办法")


def other_hits(view: View) -> list[Hit]:
    norm = view.norm
    hits = [Hit(m.start(), m.end(), "email", "hide") for m in _EMAIL.finditer(norm)] if "@" in norm else []
    hits += [Hit(m.start(), m.end(), "im_account", "hide") for m in _WXID.finditer(norm)] if "_" in norm else []
    for m in _IM.finditer(norm):
        if any(c.isdigit() for c in m.group(1)) or len(m.group(1)) >= 6:
            hits.append(Hit(m.start(1), m.end(1), "im_account", "hide"))
    for m in _PLATE.finditer(norm):
        if any(c.isdigit() for c in m.group()):
            hits.append(Hit(m.start(), m.end(), "plate", "hide"))
    for m in (_BIRTH.finditer(norm) if "生" in norm else ()):
        g = 1 if m.group(1) else 2
        hits.append(Hit(m.start(g), m.end(g), "birth_date", "hide"))
    for m in (_AGE.finditer(norm) if "岁" in norm else ()):
        before = norm[max(0, m.start(2) - 3):m.start(2)]
        if re.search(r"[满过超逾]", before):
            continue
        hits.append(Hit(m.start(2), m.end(2), "age", "hide"))
    for m in (_HEALTH.finditer(norm) if any(t in norm for t in _HEALTH_GATE) else ()):
        if _HEALTH_NOT.match(norm, m.end()) or norm[max(0, m.start() - 1):m.start()] == "《":
            continue
        hits.append(Hit(m.start(), m.end(), "health", "hide"))
    return hits


# --- addresses --------------------------------------------------------------------------

_HOME = labels("家庭住址", "家庭地址", "现住址", "现住所", "现居住地址", "现居住地", "现居地", "现住", "居住地址", "经常居住地",
               "居住地", "暂住地址", "暂住地", "暂住", "户籍地址", "户籍所在地", "户籍地", "户口所在地", "户口地址", "住址",
               "住处", "住在", "家住", "居住在", "居住于", "寄住在", "租住在", "租住于", "租住")
_PERSON_SEAT = labels("住所地", "住所", "地址", "联系地址", "送达地址", "通讯地址", "邮寄地址")
_HEAD_LIVES = r"(?:(?<=[,，:：;；。\n])|(?<![\s\S]))\s*住\s*(?:址)?\s*(?=[" + HAN + r"]{2,8}?(?:省|市|区|县|镇|乡|村|街道))"
_HOME_ADDRESS = re.compile(_HOME + r"\s*(?:是|为|:|在)?\s*|" + _HEAD_LIVES)
_SEAT_ADDRESS = re.compile(_PERSON_SEAT + r"\s*(?:是|为|:)?\s*")
_TAIL_STOP = re.compile(r"[。；;\n【(（)）]|电\s*话|手\s*机|联系|身份证|公民身份|邮编|邮政编码|微信|QQ|邮箱|$")
_CONTINUES = re.compile(r"\s*(?:[0-9A-Za-z一二三四五六七八九十]+\s*(?:号楼|号院|号|栋|幢|单元|室|层|楼|组|户|门)"
                        r"|[^，,。；;]{0,12}(?:单元|室|号楼|栋|幢|组))")
_UNIT = r"\s*(?:号楼|栋|幢|号院|号)\s*"
_N = r"(?<!\d)\d{1,5}"
_RESIDENCE = re.compile(
    _N + _UNIT + r"\d{1,5}\s*(?:单元|门)\s*\d{1,5}\s*(?:室|号|户)?"
    r"|" + _N + r"\s*单元\s*\d{1,5}\s*(?:室|号|户)"
    r"|" + _N + r"\s*号楼\s*\d{1,5}\s*(?:室|号|户)"
    r"|[" + HAN + r"]{1,8}(?:村|屯)\s*(?:\d{1,3}|[一二三四五六七八九十]{1,3})\s*组(?:\s*\d{1,5}\s*号)?"
    r"|(?:小区|家园|花园|公寓|新村|社区|宿舍|大院)\s*\d{1,5}" + _UNIT + r"(?:\d{1,5}\s*(?:单元|层|楼)\s*)?(?:\d{1,5}\s*(?:室|户))?")
_BACK_STOP = set("在于到至住其位往从由即向址的，,。;；:：、（()）【】\n ")
_ADDRESS_CHARS = re.compile(r"[" + HAN + r"0-9A-Za-z\-#]")


def _address_tail(norm: str, start: int) -> int:
    """Where an address that starts at `start` ends: at a stop, or at a comma unless
    what follows the comma goes on with the address (7单元1201室)."""
    end = start
    limit = min(len(norm), start + 90)
    while end < limit:
        stop = _TAIL_STOP.search(norm, end, limit)
        seg_end = stop.start() if stop else limit
        comma = min([i for i in (norm.find("，", end, seg_end), norm.find(",", end, seg_end)) if i >= 0],
                    default=-1)
        if comma < 0:
            return seg_end
        if _CONTINUES.match(norm, comma + 1) and not _TAIL_STOP.match(norm, comma + 1):
            end = comma + 1
            continue
        return comma
    return end


def address_hits(view: View, context: Context) -> list[Hit]:
    norm = view.norm
    hits = []
    patterns = [_HOME_ADDRESS, _SEAT_ADDRESS] if context.party_is_person else [_HOME_ADDRESS]
    for pattern in patterns:
        for m in pattern.finditer(norm):
            end = _address_tail(norm, m.end())
            value = norm[m.end():end].rstrip()
            while value.endswith(("的家中", "家中", "的住处", "的家", "家里")):
                value = value[:-3] if value.endswith(("的家中", "的住处")) else value[:-2]
            if len(value.strip()) >= 2:
                hits.append(Hit(m.end(), m.end() + len(value), "address", "hide"))
    for m in (_RESIDENCE.finditer(norm) if any(c in norm for c in "单室组楼") else ()):
        start = m.start()
        while start > 0 and m.start() - start < 30 and norm[start - 1] not in _BACK_STOP \
                and _ADDRESS_CHARS.match(norm[start - 1]):
            start -= 1
        end = m.end()
        more = re.match(r"\s*\d+\s*(?:室|号|户|层)", norm[end:])
        if more:
            end += more.end()
        hits.append(Hit(start, end, "address", "hide"))
    for address in context.hidden_addresses:
        folded = build(address).norm.strip() if address else ""
        if len(folded) >= 4:
            hits += [Hit(m.start(), m.end(), "address", "hide") for m in find_all(folded, norm)]
    return hits
