"""Names of natural persons, found by evidence rather than by a list of
endings: a surname from the complete table (data/surnames.txt) AND something
in the text that says "person" — a role or relation word before it (证人,
之妻, 员工, 据…), a verb of speech after it (…承认, …称), an enumeration with a
name already found (、/和/及/与, …二人), a decision head (…，男，), or the
structured data (`persons`, and given-name references of those names).

Words that are also names (高峰, 黎明, 陈述, 张贴) need stronger evidence, and a
word followed by a company or place suffix (高峰建材有限公司) or a time word
(高峰期, 黎明时分) is a word. Officers named in their official role
(执法人员…, 执法证号) and the party are public: they are protected.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

from services.search.redaction.model import Context
from services.search.redaction.recognisers import HAN, Hit, labels
from services.search.redaction.view import DATA, View, build, find_all


def _load() -> tuple[tuple[str, ...], frozenset[str]]:
    compounds, singles = [], set()
    for line in (DATA / "surnames.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("compound:"):
            compounds += line.split(":", 1)[1].split()
        else:
            singles.update(c for c in line if not c.isspace())
    return tuple(dict.fromkeys(compounds)), frozenset(singles)


COMPOUND_SURNAMES, SURNAMES = _load()

# Given names never contain these (a pseudonym 张某 is never read again).
_NOT_GIVEN = set("账帐户号卡码址话某之的了在于是和与及或等称说向对把被从为将已也都就又未不曾系着过并且其所该此这那个人们们我你他她它"
                 "年月日时分秒元号条款项章节第、，。；：,.;:!?！？（）()【】《》“”\"' \n")
# Adverbs between a name and its verb (韩梅、李娜均称).
_SOFT_AFTER = frozenset("均都也仍即便还再亦皆已")
# A name ends before these (李四在场: 李四).
_AFTER_NAME = ("承认", "称", "说", "表示", "陈述", "证实", "供述", "辩称", "介绍", "反映", "确认", "签字", "签名",
               "在场", "到场", "作证", "指认", "交代", "陈诉", "提供", "出具", "讲", "叫", "在", "于", "的", "是", "等",
               "系", "与", "和", "及", "、", "，", "。", "；", "：", ",", ";", ":", "(", "（", "向", "对", "将", "把",
               "被", "已", "也", "都", "就", "并", "未", "不", "曾", "为", "从", "自", "让", "给", "二人", "两人",
               "三人", "四人", "持", "驾驶", "购买", "销售", "经营", "从事", "负责", "现场", "当场", "所", "家", "之",
               "男", "女", "因", "无", "有", "拒", "作", "告知", "承担", "联系", "住", "出生", "身份证", "到", "去",
               "来", "一", "同", "均", "仍", "又", "还", "即", "便", "才", "却", "立即", "当即", "随后", "签", "口述",
               "手机", "电话", "联系", "微信", "QQ", "邮箱", "住址", "家住", "现住", "户籍", "年龄", "现年", "患", "怀孕",
               "名下", "账户", "驾驶", "身份", "证件", "居住", "暂住", "系", "属", ")", "）", "（", "(")
_SPEECH = ("承认", "称", "说", "表示", "陈述", "证实", "供述", "辩称", "介绍", "反映", "确认", "签字", "签名", "在场",
           "到场", "作证", "指认", "交代", "陈诉", "口述", "提出", "证明", "讲述", "回忆", "核实", "联系", "交谈", "律师",
           "先生", "女士", "同志", "夫妇", "拒绝签字")
# Verbs that follow a role word and are no name (律师代理, 负责人陈述): never a candidate.
_VERBS = ("代理", "代表", "负责", "签收", "经营", "管理", "销售", "购买", "驾驶", "使用", "办理", "持有", "出示", "提供",
          "出具", "拒绝", "同意", "申请", "申辩", "陈述", "到场", "在场", "签字", "签名", "确认", "表示", "承认", "介绍")
_ROLES = ("证人", "见证人", "目击者", "目击证人", "举报人", "投诉人", "申诉人", "信访人", "委托代理人", "代理人", "法定代理人",
          "监护人", "受害人", "被害人", "受托人", "员工", "职工", "店员", "店长", "雇员", "工人", "服务员", "营业员", "收银员",
          "厨师", "帮厨", "配菜员", "驾驶员", "驾驶人", "司机", "乘客", "顾客", "消费者", "患者", "买家", "卖家", "购买者",
          "家属", "亲属", "配偶", "父亲", "母亲", "儿子", "女儿", "妻子", "丈夫", "哥哥", "弟弟", "姐姐", "妹妹", "孙子",
          "孙女", "朋友", "邻居", "同事", "户主", "房东", "业主", "租户", "承租人", "出租人", "村民", "居民", "住户",
          "联系人", "负责人", "经理", "主管", "厂长", "店主", "老板", "摊主", "车主", "股东", "会计", "出纳", "保安",
          "保洁员", "技术员", "电工", "焊工", "操作人员", "作业人员", "安全员", "质检员", "仓管员", "业务员", "销售员",
          "实际经营人", "实际经营者", "实际控制人", "经营者", "合伙人", "被询问人", "被检查人", "询问对象", "在场人",
          "陪同人", "翻译人员", "律师", "医师", "医生", "护士", "药师", "教师", "学生", "学员", "租客", "工作人员",
          "姓名", "名叫", "叫做", "之妻", "之夫", "之子", "之女", "之父", "之母", "之兄", "之弟", "之姐", "之妹", "之孙",
          "其妻", "其夫", "其子", "其女", "其父", "其母", "其兄", "其弟", "其姐", "其妹", "据", "经", "由", "向", "让", "请",
          "委托", "雇佣", "雇用", "聘用", "安排", "指派", "证人证言", "证言", "询问笔录", "笔录", "签收人", "领取人",
          "务工人员", "帮工", "学徒", "务工", "我叫", "本人叫", "名字叫", "现场负责人", "在场人员", "同事", "亲属",
          "购买者", "送货司机", "店长", "会计")
# Roles after which a name is an officer's, public under 执法公示.
_OFFICER_ROLES = ("执法人员", "执法员", "承办人", "承办人员", "办案人员", "办案人", "执法人", "检查人员", "检查人", "调查人员",
                  "调查人", "询问人", "记录人", "主办人", "协办人", "审核人", "批准人", "负责人员", "核查人员",
                  "现场核查人员", "检查员", "稽查人员")
_WORD_CHAIN = r"(?:(?![在于的是住到从向对和与及称说])[" + HAN + r"]){0,4}?"
_WORD_CONTEXT = re.compile(_WORD_CHAIN + r"(?:有限公司|有限责任公司|股份|公司|集团|厂|店|超市|商行|商店|药房|药店|医院|"
                           r"诊所|学校|幼儿园|中心|酒店|饭店|餐馆|餐厅|经营部|门市|工作室|合作社|银行|支行|分行|市场|商场|"
                           r"大厦|广场|小区|花园|家园|山庄|宾馆|旅馆|加工|建材|商贸|贸易|科技|物流|食品|烟酒|百货|五金|家具|"
                           r"电器|服装|装饰|工程|办事处|街道|委员会)"
                           r"|(?:(?![在于的是住到从向对和与及称说])[" + HAN + r"]){0,1}(?:路|街|大街|巷|村|镇|乡|县|区|市|省|桥)"
                           r"|期|时分|时段|时期|时刻|时节|值|点|峰|谷|线|学|化|科|性|度|级|型|式|馆|站|室|局|所|处|队")
_ENUM = r"\s*(?:、|和|及|与|以及|,|，)\s*"
_LIST = r"\s*(?:、|和|及|与|以及)\s*"          # a list within a clause (a comma ends the clause)
_COUNT_AFTER = re.compile(r"\s*(?:[二两三四五六七八九十\d]+\s*(?:人|名)|等\s*[二两三四五六七八九十\d]*\s*(?:人|名))")
_HEAD = re.compile(r"\s*[,，(（]\s*(?:男|女|性别|曾用名|身份证|公民身份|出生|[一二]九|19|20|现年|\d{1,3}\s*周?岁|[一二三四五六七八九十]{1,3}周?岁)")
_MINORITY = re.compile(r"[" + HAN + r"]{1,6}(?:\s?[·•・.．]\s?[" + HAN + r"]{1,8}){1,3}")


_PSEUDONYM = re.compile(r"(?:" + "|".join(COMPOUND_SURNAMES) + r"|[" + "".join(sorted(SURNAMES)) + r"])某+")
_SURNAME_START = re.compile("[" + "".join(sorted(SURNAMES | {c[0] for c in COMPOUND_SURNAMES})) + "]")


def _compiled(words) -> re.Pattern:
    return re.compile("(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + ")")


_EVIDENCE_AFTER = re.compile("(?:" + "|".join(re.escape(w) for w in sorted(_SPEECH, key=len, reverse=True)) +
                             r"|[,，(（]\s*(?:男|女|性别|曾用名|身份证|公民身份|出生|现年|\d{1,3}\s*周?岁|[一二三四五六七八九十]{1,3}周?岁)"
                             r"|[、和及与]|[二两三四五六七八九十\d]+\s*(?:人|名)|等)")
_EVIDENCE_FIRST = frozenset(w[0] for w in _SPEECH) | frozenset(",，(（、和及与等二两三四五六七八九十0123456789")
_ROLE_BY_LAST: dict[str, tuple[str, ...]] = {}
for _role in sorted(_ROLES, key=len, reverse=True):
    _ROLE_BY_LAST[_role[-1]] = (*_ROLE_BY_LAST.get(_role[-1], ()), _role)


def _role_ends(norm: str, end: int) -> bool:
    """A role word (证人, 其母 …) ends at `end`."""
    if end <= 0:
        return False
    return any(norm.startswith(role, end - len(role)) for role in _ROLE_BY_LAST.get(norm[end - 1], ())
               if len(role) > 1 and end >= len(role))


_ROLE_AT = _compiled([role for role in _ROLES if len(role) > 1])


def _role_straddles(norm: str, given: int, end: int) -> bool:
    """A role word starts among the given-name characters norm[given:end] and runs past them."""
    return any((m := _ROLE_AT.match(norm, k)) and m.end() > end for k in range(given, end))


def _skip_back(norm: str, at: int) -> int:
    while at > 0 and norm[at - 1] in " :：(（":
        at -= 1
    if at > 0 and norm[at - 1] in "为是" and _role_ends(norm, at - 1):
        at -= 1                                # 现场负责人为柏林
    return at


_ROLE_BEFORE = re.compile("(?:" + "|".join(re.escape(w) for w in sorted(_ROLES, key=len, reverse=True)) +
                          r")\s*(?:[:：(（]|为|是)?\s*$")
_OFFICER_ROLE = r"(?<![被受])" + labels(*_OFFICER_ROLES)
_OFFICER_ROLE_RE = re.compile(_OFFICER_ROLE + r"\s*(?:[:：]|为|是)?\s*")
_OFFICER_BEFORE = re.compile(_OFFICER_ROLE + r"\s*(?:[:：]|为|是)?\s*$")
_AFTER = _compiled(_AFTER_NAME + _SPEECH)
_SPEECH_AFTER = _compiled(_SPEECH)
_ASIDE_SPEECH = re.compile(r"\s*[(（][^()（）]{1,20}[)）]\s*(?:" +
                           "|".join(re.escape(w) for w in sorted(_SPEECH, key=len, reverse=True)) + ")")
_VERB_START = re.compile("(?:" + "|".join(re.escape(w) for w in (*_SPEECH, *_VERBS) if len(w) == 2) + ")")
_OFFICER_AFTER = re.compile(r"(?<=[" + HAN + r"])\s*[(（]?\s*(?:执法证|执法编号|证号|执法证件)")
_OFFICER_NEXT = re.compile(r"\s*(?:[(（][^()（）]{0,40}[)）])?" + _ENUM)
# the rest of an enumeration up to its verb or count: 、宁静、常胜均称 / 和黎明二人
_CHAIN_END = re.compile(r"(?:" + _LIST + r"[" + HAN + r"]{2,4}?)*\s*(?:均|都|也|等|分别|一同|共同)?\s*(?:" +
                        "|".join(re.escape(w) for w in sorted(_SPEECH, key=len, reverse=True)) + r"|" +
                        _COUNT_AFTER.pattern.lstrip("\\s*") + r")")
_ENUM_COUNTED = re.compile(r"(?:" + _LIST + r"[" + HAN + r"]{2,4}?)+\s*(?:均|都|也|等|分别|一同|共同)?\s*(?:" +
                           _COUNT_AFTER.pattern.lstrip("\\s*") + r")")
_ENUM_SPOKEN = re.compile(r"(?:" + _LIST + r"[" + HAN + r"]{2,4}?)+\s*(?:均|都|也|等|分别|一同|共同)?\s*(?:" +
                          "|".join(re.escape(w) for w in sorted(_SPEECH, key=len, reverse=True)) + r")")
_DATED = re.compile(r"(?:于|在|自|从)\s*(?:\d{4}|[一二]〇)")
_HEAD_BEFORE = re.compile(r"(?:当事人|姓名|申请人|被申请人|委托人)\s*[:：]?\s*$")
_ENUM_BEFORE = re.compile(r"(?:、|和|及|与)\s*$")
_STARTS_WORD = re.compile(r"(?:据|经|由|向|让|请|与|和|及|同|对|被|把|将|给|叫|找|即|是|为|系|其|的|、|当事人|之(?:妻|夫|子|女|父|母))$")


class NameFinder:
    def __init__(self, frequency: Callable[[str], int], cut: Callable[[str], list[str]] | None = None,
                 tag: Callable[[str], str | None] | None = None):
        self.frequency = frequency
        self.cut = cut            # jieba's precise cut (HMM on): the last evidence for a bare name
        self.tag = tag            # jieba's part of speech of a dictionary word

    def segmented_as_name(self, norm: str, at: int, name: str, surname: str) -> bool:
        """jieba, reading the clause, cuts the candidate as one unknown or name word
        (李德明, 祁文斌) or as surname + given name (冯/志强); a dictionary word that is
        not a name (叶菜类) is not one."""
        if self.cut is None:
            return False
        start = at
        while start > 0 and at - start < 8 and _is_han(norm[start - 1]):
            start -= 1
        end = min(len(norm), at + len(name) + 8)
        pos, words = start, []
        for word in self.cut(norm[start:end]):
            words.append((pos, word))
            pos += len(word)
        for i, (pos, word) in enumerate(words):
            if pos != at:
                continue
            if word == name:
                tag = self.tag(word) if self.tag else None
                return tag is None or tag.startswith("nr")
            if word == surname and i + 1 < len(words) and words[i + 1][1] == name[len(surname):]:
                tag = self.tag(name[len(surname):]) if self.tag else None
                return tag is None or tag.startswith("nr")
        return False

    @lru_cache(maxsize=20000)
    def common(self, word: str, threshold: int = 100) -> bool:
        return self.frequency(word) >= threshold

    def surname_at(self, norm: str, at: int) -> str | None:
        two = norm[at:at + 2]
        if two in COMPOUND_SURNAMES:
            return two
        return norm[at] if at < len(norm) and norm[at] in SURNAMES else None

    def candidate(self, norm: str, at: int) -> str | None:
        """The name that starts at `at`: surname + one or two given characters,
        the longer when a name-ending word follows it."""
        surname = self.surname_at(norm, at)
        if not surname:
            return None
        s = at + len(surname)
        chars = 0
        while chars < 2 and s + chars < len(norm) and _is_han(norm[s + chars]) and norm[s + chars] not in _NOT_GIVEN:
            chars += 1
        if chars == 0:
            return None
        if chars == 2 and ((not _AFTER.match(norm, s + 2) and _AFTER.match(norm, s + 1))
                           or (norm[s + 1] in _SOFT_AFTER and _AFTER.match(norm, s + 2))):
            chars = 1                          # 李娜在场 / 李娜均称: the name ends before the adverb
        return norm[at:s + chars]

    def wordlike(self, name: str, surname: str) -> bool:
        """The characters read as an ordinary word (陈述, 张贴, 于现场, 高峰)."""
        if len(surname) == 2:
            return self.common(name, 50)
        return self.common(name[:2], 100) or self.common(name, 50) or \
            (len(name) - len(surname) == 2 and self.common(name[len(surname):], 1000) and self.common(surname, 20000))

    def find(self, view: View, context: Context, protected: bytearray,
             personal_data: bytearray) -> tuple[list[Hit], list[Hit]]:
        """(hidden names, protected names) in view.norm coordinates. `protected`: characters
        no name may overlap; `personal_data`: those of hidden values (evidence of a person)."""
        norm = view.norm
        keep: list[Hit] = []
        for value in (context.party_name, *context.visible_names):
            folded = build(value).norm.strip() if value else ""
            if folded:
                for m in find_all(folded, norm):
                    # 张伟民 is not the party 张伟: a person's name that goes on is someone else's
                    if len(folded) <= 4 and m.end() < len(norm) and _is_han(norm[m.end()]) \
                            and not _AFTER.match(norm, m.end()) and not _WORD_CONTEXT.match(norm, m.end()) \
                            and norm[m.end()] not in _NOT_GIVEN:
                        continue
                    keep.append(Hit(m.start(), m.end(), "party", "keep_name"))
        keep += self._officers(norm)
        names: dict[str, str] = {}       # name -> replacement
        found: list[tuple[int, int]] = []

        def add(start: int, name: str) -> None:
            names.setdefault(name, _pseudonym(name, self.surname_at(name, 0)))
            found.append((start, start + len(name)))

        for value in context.hidden_names:
            folded = build(value).norm.strip() if value else ""
            if len(folded) >= 2:
                add(0, folded)
        # A pseudonym (王某) is never part of another name: 商经明品 → 商经明某 must not be
        # read again as 商经明 + 某 (redacting twice changes nothing).
        if "某" in norm:
            protected = bytearray(protected)
            for m in _PSEUDONYM.finditer(norm):
                protected[m.start():m.end()] = b"\x01" * (m.end() - m.start())
        # Evidence around a surname.
        length = len(norm)
        for m in _SURNAME_START.finditer(norm):
            at = m.start()
            # cheap look first: most surname characters are in ordinary words, far from evidence
            if not (at == 0 or norm[at - 1] in "、和及与，,。；;\n：:" or _role_ends(norm, _skip_back(norm, at))
                    or personal_data.find(1, at + 2, at + 9) >= 0
                    or any(norm[k] in _EVIDENCE_FIRST and _EVIDENCE_AFTER.match(norm, k)
                           for k in range(at + 2, min(at + 5, length)))):
                continue
            if _role_ends(norm, at + 1):
                continue                      # the last character of a role word (其母禚秀兰: 母)
            name = self.candidate(norm, at)
            if not name or _overlaps(at, at + len(name), protected):
                continue
            surname = self.surname_at(norm, at)
            if _role_straddles(norm, at + len(surname), at + len(name)):
                continue                      # 经：商证人王伟: 证 begins the role 证人, not a given name
            after = at + len(name)
            if _VERB_START.match(name[len(surname) - 1:] if len(surname) == 1 else name):
                continue                      # 陈述申辩, 称, 说: a verb, not a name
            before = norm[max(0, at - 8):at]
            role = bool(_ROLE_BEFORE.search(before)) and not _OFFICER_BEFORE.search(before)
            speech = bool(_SPEECH_AFTER.match(norm, after)) or bool(_ASIDE_SPEECH.match(norm, after, after + 30))
            ends = after >= len(norm) or bool(_AFTER.match(norm, after))
            clause = at == 0 or norm[at - 1] in "\n：: 。；;，,"
            head = bool(_HEAD.match(norm, after)) and (clause or bool(
                _HEAD_BEFORE.search(before)))
            # personal data right after the name: 李德明居住在【…】, 蒯玉洁患有【…】
            personal = personal_data.find(1, after, after + 5) >= 0 and (clause or role or _starts_word(before)) \
                and (ends or personal_data.find(1, after, after + 1) >= 0) \
                and not self.wordlike(name, surname)
            # 高峰、黎明二人: a list that ends in a count of people; 韩梅、李娜均称: in a verb
            counted = bool(_ENUM_COUNTED.match(norm, after, after + 40)) \
                or bool(_COUNT_AFTER.match(norm, after) and _ENUM_BEFORE.search(before))
            listed = counted or bool(_ENUM_SPOKEN.match(norm, after, after + 40))
            # 经查，褚国平于2026年…: a name at the start of a clause, then a date (names only, not words)
            dated = clause and bool(_DATED.match(norm, after)) and not self.common(name[:2], 5) \
                and not self.common(name, 1)
            if _WORD_CONTEXT.match(norm, after) and not speech:
                continue
            if at > 0 and _is_han(norm[at - 1]) and not (role or head or _starts_word(before)):
                # inside a run of characters: the character before belongs to a word
                if self.common(norm[at - 1:at + 1], 50) or not (speech or personal):
                    continue
            if self.wordlike(name, surname):
                # a word needs a person's context: 证人高峰称, 高峰、黎明二人, 黄海燕，女，
                if not ((role and ends) or counted or head):
                    continue
                if self.common(name[:2] if len(surname) == 1 else name, 5000) and not (counted or (role and speech)):
                    continue
            elif not (role or speech or head or listed or personal or dated):
                # bare: 当日下午，李德明到店购买 — a full-length name at a clause start that
                # jieba also reads as a name
                if not (len(name) - len(surname) == 2 and (clause or _starts_word(before))
                        and not (self.common(name[:2], 3) and not (self.tag and (self.tag(name[:2]) or "").startswith("nr")))
                        and self.segmented_as_name(norm, at, name, surname)):
                    continue
            elif speech and not (role or head or counted) and at > 0 and _is_han(norm[at - 1]) \
                    and not _starts_word(before):
                continue
            add(at, name)
        kept_names = {norm[h.start:h.end] for h in keep}
        # Enumerations from names found: 王某、李娜 / 李娜和张伟.
        for _ in range(2):
            for start, end in list(found):
                self._enumerated(norm, end, add, protected)
            for m in (_PSEUDONYM.finditer(norm) if "某" in norm else ()):
                self._enumerated(norm, m.end(), add, protected)
        # Minority names with a middle dot: hidden whole.
        hits: list[Hit] = []
        for m in _MINORITY.finditer(norm):
            if "《" in norm[max(0, m.start() - 1):m.start()]:
                continue
            end = m.end()
            last = max(norm.rfind(c, m.start(), end) for c in "·•・.．") + 1
            for i in range(last + 2, end):          # 买买提称: the name ends before 称
                if _SPEECH_AFTER.match(norm, i) or norm[i] in "的在于是等和与及":
                    end = i
                    break
            hits.append(Hit(m.start(), end, "person_name:" + m.group()[0] + "某", "hide"))
        for name in [n for n in names if n in kept_names]:
            del names[name]
        for name in names:
            longer = [other for other in names if len(other) > len(name) and other.endswith(name)]
            if longer:
                names[name] = names[longer[0]]       # 国栋称 after 亓国栋: 亓某
        # Given-name references of the names found (德明称 after 李德明).
        given: dict[str, str] = {}
        for name, replacement in names.items():
            surname = self.surname_at(name, 0) or name[0]
            rest = name[len(surname):]
            if len(rest) == 2:
                given[rest] = replacement
        if names:
            # every mention (one pass for all names), except where the characters are a word (高峰期)
            every = re.compile("|".join(re.escape(x) for x in sorted(names, key=len, reverse=True)))
            for m in every.finditer(norm):
                name = m.group()
                if self.wordlike(name, self.surname_at(name, 0) or name[0]) and _WORD_CONTEXT.match(norm, m.end()):
                    continue
                hits.append(Hit(m.start(), m.end(), "person_name:" + names[name], "hide"))
        given = {k: v for k, v in given.items() if k not in names}
        for m in (re.compile("|".join(re.escape(x) for x in given)).finditer(norm) if given else ()):
            rest = m.group()
            if self.common(rest, 50) and not (_SPEECH_AFTER.match(norm, m.end()) or _AFTER.match(norm, m.end())):
                continue
            if m.start() > 0 and self.common(norm[m.start() - 1] + rest[0], 50):
                continue       # the first character belongs to the word before
            hits.append(Hit(m.start(), m.end(), "person_name:" + given[rest], "hide"))
        return hits, keep

    def _enumerated(self, norm: str, end: int, add, protected) -> None:
        m = re.match(_ENUM, norm[end:end + 4])
        if not m:
            return
        at = end + m.end()
        name = self.candidate(norm, at)
        if not name or _overlaps(at, at + len(name), protected):
            return
        after = at + len(name)
        if _WORD_CONTEXT.match(norm, after) and not _COUNT_AFTER.match(norm, after):
            return
        if self.wordlike(name, self.surname_at(norm, at)) and not _CHAIN_END.match(norm, after, after + 30):
            return
        add(at, name)

    def _officers(self, norm: str) -> list[Hit]:
        """Officers named in their official role stay public (执法公示)."""
        keep = []
        role = _OFFICER_ROLE_RE if any(w in norm for w in _OFFICER_ROLES) else None
        for m in (role.finditer(norm) if role else ()):
            at = m.end()
            for _ in range(6):
                name = self.candidate(norm, at)
                if not name:
                    break
                keep.append(Hit(at, at + len(name), "officer", "keep_name"))
                nxt = _OFFICER_NEXT.match(norm, at + len(name), at + len(name) + 50)
                if not nxt:
                    break
                at = nxt.end()
        for m in (_OFFICER_AFTER.finditer(norm) if "证" in norm or "编号" in norm else ()):
            for k in (2, 3, 4):
                s = m.start() - k
                if s >= 0 and self.candidate(norm, s) == norm[s:m.start()]:
                    keep.append(Hit(s, m.start(), "officer", "keep_name"))
                    break
        return keep


def _is_han(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def _starts_word(before: str) -> bool:
    """The text before a candidate ends a word that a name may follow."""
    return bool(_STARTS_WORD.search(before))


def _overlaps(start: int, end: int, mask: bytearray) -> bool:
    return mask.find(1, start, end) >= 0


def _pseudonym(name: str, surname: str | None) -> str:
    return (surname or name[0]) + "某"


def pseudonym(name: str) -> str:
    """张三 → 张某, 欧阳娜娜 → 欧阳某."""
    two = name[:2]
    return (two if two in COMPOUND_SURNAMES and len(name) > 2 else name[:1]) + "某"
