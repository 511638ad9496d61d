"""Rules of the bureau's enforcement standardisation plan, as pure functions.

Checks return lists of `FieldError` (paths slash-separated, e.g.
"data/party/name") so the caller can report every problem at once;
`remedy_clause` builds text and raises `Problem` when it cannot.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import ROUND_DOWN, Decimal

from shared.dates import chinese_date, parse_iso_date
from shared.problems import FieldError, Problem, invalid
from shared.text import pointer_token, walk_strings
from shared.traditional import T2S

__all__ = [
    "MAX_AMOUNT_YUAN",
    "amount_errors",
    "prefilled_waiver_errors",
    "remedy_clause",
    "self_names",
    "hearing_date_errors",
    "non_acceptance_errors",
    "non_acceptance_grounds",
]


# --- pre-filled waivers (plan item 7) ----------------------------------------

# A party's acknowledgement of its rights, its renunciation of them, or its
# "no objection" must be written by the party in its own hand; the generator
# refuses data that pre-fills one. Checked by meaning, not by a fixed list:
# (renunciation verb | acknowledgement verb) + (a right or the notice) within
# one clause, plus stand-alone acknowledgement and no-objection forms. Facts
# such as "当事人表示不清楚变更登记期限" carry no right as object and pass.

# Traditional characters fold with the project's one table; on top of it,
# variant and confusable forms people write for the patterns' characters
# (聴 Japanese form, 辨 for 辩; 瞭, 覆 and 著 (用不著), which t2s keeps).
_VARIANTS = str.maketrans({**T2S, "聴": "听", "辨": "辩", "瞭": "了", "覆": "复", "著": "着"})

_RIGHT = (r"(?:听证|陈述|申辩|辩解|辩护|回避|复议|诉讼|权利|权益|救济|告知书|通知书|告知(?:的)?(?:内容|事项)|"
          r"(?:上述|以上|前述)(?:告知|内容|事项))")
_RENOUNCE = (r"(?:放弃|无需|无须|毋须|不必|不用|不需要?|拒绝|甭|用不着|犯不着|没必要|不搞|免了|(?:就)?算了|"
             r"不(?:再|予|愿意?|想|打算|准备|要)?(?:申请|要求|提出|进行|行使|参加|作|做|主张|搞|开))")
_ACK = r"(?<![不没未])(?:知晓|知悉|收悉|知道|了解|明白|清楚|听清|看清|明了|已阅|阅读|签收)"
_OBJECTION = r"(?:异议|意见)"
_SPAN = r"[^，,。！？!?；;：:]{0,10}"   # within one clause

# "没啥要说的": ends in 的 like a condition ("逾期不申请听证的，"), but states a waiver.
_NOTHING_TO_SAY = r"(?:没|无)(?:有)?(?:啥|什么|甚么|其他|别的)?(?:好|要|可|想|需要|再)(?:说|讲|补充|解释|申辩|辩解|陈述|辩)"
_WAIVER_PATTERNS = [re.compile(p) for p in (
    _RENOUNCE + _SPAN + _RIGHT,                                   # 不再提出申辩 / 放弃陈述申辩的权利
    _RIGHT + r"[^，,。！？!?；;]{0,8}(?:" + _RENOUNCE + r"|不要了|不需要了|不用了|不必了)",  # 听证权利予以放弃 / 听证不要了
    r"(?:不|无|没)(?:陈述|申辩|听证|辩解|辩)(?!论)",                  # 不陈述 / 无陈述申辩 / 不辩了
    # nothing to say: 没啥要说的 / 没什么好申辩的 / 没有要补充的 / 没得说 / 不想说什么了
    _NOTHING_TO_SAY,
    r"(?:没|无)(?:有)?(?:啥|什么|甚么|其他|别的)(?:说|讲|补充|申辩|辩解|陈述)的",
    r"没得说|无话可说|没话说|没话讲",
    r"不(?:想|愿意?|打算)(?:再)?(?:多)?(?:说|讲|辩|申辩|解释)(?:什么|啥|了)",
    # accepting the penalty in colloquial words: 我认了 / 认栽 / 该罚 / 罚就罚吧 / 处罚我接受
    r"(?<![承确否辨公默体辩])认(?:了|栽)(?![识为真定])",
    r"该罚|罚就罚|甘愿受罚|愿意受罚|甘愿接受",
    r"(?:处罚|处理|罚款|决定)" + _SPAN + r"(?:接受|认可|服从|认同|没意见|无异议|认了)",
    _ACK + _SPAN + _RIGHT,                                        # 已收悉并清楚上述权利
    _RIGHT + _SPAN + _ACK,                                        # 上述权利本人已知晓
    r"(?:无|没有?|不持|不提出?|并无|未有)(?:任何|其他|什么|啥|别的|不同)?" + _OBJECTION,   # 无异议 / 没有意见
    _OBJECTION + r"[：:]?(?:无|没有)",                              # 意见：无
    r"(?:认可|同意|接受|服从|认同)" + _SPAN + r"(?:处罚|处理|决定|罚款)",   # 认可上述事实和处罚
    r"认罚|服罚",
)]
_ENDS_IN_DE = {p for p in _WAIVER_PATTERNS if p.pattern.startswith(("(?:没|无)(?:有)?(?:啥", _NOTHING_TO_SAY))}
# A whole clause that only says "(I) (already) know / understood / received".
_STANDALONE_ACK = re.compile(
    r"^(?:我|本人|我方|我们|我公司|我单位|本公司|本单位|当事人|申请人)?(?:已经?|均|都|完全|全部|也|确已|确实)*"
    r"(?:知晓|知悉|收悉|知道|了解|明白|清楚|听清楚|看清楚|听明白|已阅|阅读|收到|签收)(?:了|过)?$")
_STANDALONE_RENOUNCE = re.compile(
    r"^(?:我|本人|我方|我们)?(?:还是|就|也|都)?(?:放弃|不申请|不要求|不提出|不听证|不辩)(?:了|吧|啦)*$")
# A clause that gives in: 就这样吧 / 按你们说的办 / 你们看着办 / 听你们的 / 都认 / 我服.
_STANDALONE_RESIGN = re.compile(
    r"^(?:行|好|那)?(?:就|都|全)?(?:这样|这么着|这么办|按你们说的(?:办)?|按你们的意见(?:办)?|你们看着办|随(?:便|你们)|"
    r"听你们的|都认|全认|我认|我服|服了|认罚)(?:吧|了|啦|呗)*$")
# A bare answer that, given to a question about a right, waives or acknowledges it.
_BARE_ANSWER = re.compile(
    r"^(?:我|本人|我们)?(?:还是|就|也|都)?(?:(?:不用|不要|不需要|不必|用不着|犯不着|没必要|甭|算|免|没有|没|无|不|不申请|不听证|没意见|没有意见|"
    r"没啥说的|清楚|知道|明白|了解|知晓|收到|认|认罚|服|服气|同意|没问题)(?:了|吧|啦|呀|啊|的)*){1,3}$")
_RIGHT_ASKED = re.compile(_RIGHT + r"|说的|补充|意见|异议|处罚|罚款|认不认|服不服|认罚")
# A question (是否申请听证？) or a condition (逾期不申请听证的，视为放弃…) states no waiver.
_QUESTION = re.compile(r"是否|吗|要不要|有没有|可否|能否")
_CONDITION = re.compile(r"(?<![例比])如(?!实)|若|逾期|视为|凡")
# Brackets and quotes end a clause too: "（当事人意见：我已知晓）" holds a whole one.
_CLAUSE_END = re.compile(r"[，,。！？!?；;：:()（）“”\"「」『』【】\[\]]")


# "答：", "—", "——" before an answer in one text ("是否需要听证？—不用了。").
_ANSWER_PREFIX = re.compile(r"^[—\-－~～…\.]*(?:答|回答|当事人答|被询问人答)?[—\-－~～…\.]*")


def answers_waive(question: str, answer: str) -> bool:
    """A question about a right answered with a bare no or yes-I-know ("是否需要听证？" — "不用了。")."""
    q, a = _normalise(question), _normalise(answer)
    if not (_QUESTION.search(q) or q.endswith(("?", "？"))) or not _RIGHT_ASKED.search(q):
        return False
    first = _ANSWER_PREFIX.sub("", next((c for c in _CLAUSE_END.split(a) if _ANSWER_PREFIX.sub("", c)), ""))
    return bool(_BARE_ANSWER.match(first) or _STANDALONE_RESIGN.match(first))


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_VARIANTS)
    # Spaces, line breaks and invisible characters must not split a phrase.
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Mn", "Me"))


def _states_no_waiver(text: str, start: int, end: int, de_is_condition: bool = True) -> bool:
    """True when the match at text[start:end] sits in a question or a condition."""
    left = max((m.end() for m in _CLAUSE_END.finditer(text, 0, start)), default=0)
    right_match = _CLAUSE_END.search(text, end)
    right = right_match.start() if right_match else len(text)
    if (right_match and right_match.group() in "？?") or _QUESTION.search(text[left:right]):
        return True
    return bool(_CONDITION.search(text[left:start])) or (de_is_condition and text[end:right].endswith("的"))


def _waivers_in(text: str) -> list[str]:
    norm = _normalise(text)
    found: list[tuple[int, int]] = []
    for pattern in _WAIVER_PATTERNS:
        for m in pattern.finditer(norm):
            if not _states_no_waiver(norm, m.start(), m.end(), de_is_condition=pattern not in _ENDS_IN_DE):
                found.append((m.start(), m.end()))
    pos = 0
    asked = False     # the clause before was a question about a right: a bare answer waives it
    for clause, end in zip(_CLAUSE_END.split(norm), [m.group() for m in _CLAUSE_END.finditer(norm)] + [""]):
        # "要不要听证——算了吧": a dash after a question without its mark starts the answer.
        asked_in, dash, after = clause.partition("—")
        if dash and _QUESTION.search(asked_in) and _RIGHT_ASKED.search(asked_in) and \
                _BARE_ANSWER.match(_ANSWER_PREFIX.sub("", after)):
            found.append((pos, pos + len(clause)))
        answer = _ANSWER_PREFIX.sub("", clause)
        if (_STANDALONE_ACK.match(clause) or _STANDALONE_RENOUNCE.match(clause)
                or _STANDALONE_RESIGN.match(answer) or (asked and _BARE_ANSWER.match(answer))):
            found.append((pos, pos + len(clause)))
        if end in "？?" and end:
            asked = bool(_RIGHT_ASKED.search(clause))
        elif answer and answer not in ("答", "回答"):
            asked = False
        pos += len(clause) + 1
    # Overlapping findings are one statement.
    merged: list[list[int]] = []
    for start, end in sorted(found):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [norm[s:e] for s, e in merged]


def prefilled_waiver_errors(data, path: str = "data") -> list[FieldError]:
    """Errors for every string under `data` that pre-fills the party's acknowledgement of its rights,
    a renunciation of them, or a "no objection"; each names the field and quotes what was found."""
    errors: list[FieldError] = []

    def visit(text: str, here: str, _is_key: bool) -> None:
        found = _waivers_in(text)
        if found:
            quoted = "".join(f"“{p}”" for p in found)
            errors.append(FieldError(
                here,
                f"当事人知晓权利、放弃权利（如不申请听证、放弃陈述申辩）或表示无异议，须由当事人本人手写，"
                f"不得预先填写{quoted}（执法规范化方案第7项）。",
            ))

    walk_strings(data, path, visit)

    # Question/answer pairs (询问笔录's qa): the answer to a question about a right.
    def pairs(node, here: str) -> None:
        if isinstance(node, dict):
            q, a = node.get("q"), node.get("a")
            if isinstance(q, str) and isinstance(a, str) and answers_waive(q, a) \
                    and not any(e.path == f"{here}/a" for e in errors):
                errors.append(FieldError(
                    f"{here}/a",
                    f"问“{q[:40]}”涉及当事人的权利，答“{a[:40]}”即表示放弃或者知晓该权利，须由当事人本人手写，"
                    "不得预先填写（执法规范化方案第7项）。"))
            for key, child in node.items():
                pairs(child, f"{here}/{pointer_token(str(key))}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                pairs(child, f"{here}/{i}")

    pairs(data, path)
    return errors


# --- amounts -------------------------------------------------------------------

# No single fine or confiscation a city bureau decides comes near this; a
# bigger number is a typing or encoding error, not a penalty.
MAX_AMOUNT_YUAN = Decimal("100000000000")   # ¥100,000,000,000
_AMOUNT_SUFFIX = "amount_yuan"


def _amount_error(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return "金额须为数字（单位：元）。"
    # The shortest repr is what the client wrote: 20000.999 stays 20000.999, 0.1 stays 0.1.
    amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not amount.is_finite():
        return "金额不是有效的有限数值，请填写以元为单位、最多两位小数的金额。"
    if amount.is_signed():    # also -0.0, which would print as "-0"
        return "金额不能为负数。"
    if amount > MAX_AMOUNT_YUAN:
        return f"金额超出合理范围（不得超过{MAX_AMOUNT_YUAN:,}元），请核对单位和数值。"
    if amount != amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN):
        return f"金额“{amount:f}”超过两位小数，金额须精确到分（最多两位小数），不得自动四舍五入。"
    return None


def amount_errors(data, path: str = "data") -> list[FieldError]:
    """Errors for every field whose key ends in "amount_yuan", anywhere under `data`: each must be a
    finite number, at least 0, at most MAX_AMOUNT_YUAN, with at most two decimals."""
    errors: list[FieldError] = []

    def walk(node, here: str) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{here}/{pointer_token(str(key))}"
                if isinstance(key, str) and key.endswith(_AMOUNT_SUFFIX):
                    message = _amount_error(child)
                    if message:
                        errors.append(FieldError(child_path, message))
                else:
                    walk(child, child_path)
        elif isinstance(node, (list, tuple)):
            for i, child in enumerate(node):
                walk(child, f"{here}/{i}")

    walk(data, path)
    return errors


# --- remedy clause ------------------------------------------------------------

_BODY_PATH = "data/agency/reconsideration_body"
_COURT_PATH = "data/agency/court"


def self_names(title: str) -> tuple[str, str]:
    """How a document names itself and its act: 责令改正通知书 → ("本通知", "本通知书"),
    行政处罚决定书 → ("本决定", "本决定书"); never another type's name."""
    for suffix in ("决定书", "通知书", "告知书"):
        if title.endswith(suffix):
            return "本" + suffix[:2], "本" + suffix
    return "本决定", "本" + title


def remedy_clause(agency: dict, title: str = "行政处罚决定书") -> str:
    """The remedy sentence naming the reconsideration body and the court, and the
    document by its own name (`title`, e.g. 责令改正通知书 → 本通知书).

    `agency` is the agency profile already merged with the request's
    overrides. Raises Problem 422 "remedy-incomplete" when either name is
    missing, "validation-failed" when a name is of the wrong kind.
    """
    agency = agency or {}
    body = agency.get("reconsideration_body")
    court = agency.get("court")
    body = body.strip() if isinstance(body, str) else ""
    court = court.strip() if isinstance(court, str) else ""

    missing: list[FieldError] = []
    if not body:
        missing.append(FieldError(
            _BODY_PATH, "缺少行政复议机关名称，决定书须载明管辖的人民政府（如“鞍山市人民政府”）。"))
    if not court:
        missing.append(FieldError(
            _COURT_PATH, "缺少管辖法院名称，决定书须载明提起行政诉讼的人民法院。"))

    wrong: list[FieldError] = []
    if body:
        if any(sep in body for sep in ("或", "、", "，", ",", "/")):
            wrong.append(FieldError(
                _BODY_PATH,
                f"行政复议机关只能填写一个机关，“{body}”不符合要求：自2024年1月1日起，县级以上地方人民政府工作部门的"
                "行政复议机关为本级人民政府（《中华人民共和国行政复议法》第二十四条）。"))
        elif not body.endswith("人民政府"):
            wrong.append(FieldError(
                _BODY_PATH,
                f"行政复议机关“{body}”有误：自2024年1月1日起，市人民政府工作部门作出的行政行为由本级人民政府管辖"
                "行政复议（《中华人民共和国行政复议法》第二十四条），应填写“××市人民政府”。"))
    if court and not court.endswith("人民法院"):
        wrong.append(FieldError(
            _COURT_PATH, f"管辖法院“{court}”有误，应填写人民法院的全称（以“人民法院”结尾）。"))

    if missing:
        raise Problem(
            422, "remedy-incomplete", "救济途径信息不全",
            "决定书须告知当事人救济途径和期限，载明管辖政府和管辖法院；请在机关配置或本次请求的 agency 中补充。",
            missing + wrong,
        )
    if wrong:
        raise invalid(wrong, "救济途径中的复议机关或法院名称有误，请按 errors 中列出的字段更正后重试。")
    act, document = self_names(title)
    return (
        f"如不服{act}，可以自收到{document}之日起六十日内向{body}申请行政复议，"
        f"也可以自收到{document}之日起六个月内向{court}提起行政诉讼。"
    )


# --- not accepting an application (行政许可法 art. 32) ------------------------------

_XUKE_32_ITEM = re.compile(
    r"行政许可法[^，,；;。]{0,4}第(?:三十二|32)条(?:第(?:一|1)款)?(?:第)?[（(]?(一|二|1|2)[)）]?项?")


def non_acceptance_grounds(data: dict) -> set[int]:
    """The items of 许可法 art. 32 para. 1 a non-acceptance rests on (1: 不需要取得行政许可;
    2: 不属于本机关职权范围), read from its legal basis however it is written."""
    decision = data.get("decision") if isinstance(data.get("decision"), dict) else {}
    found: set[int] = set()
    for provision in decision.get("legal_basis") or []:
        if isinstance(provision, str):
            norm = _normalise(provision)
            found |= {1 if m[1] in "一1" else 2 for m in _XUKE_32_ITEM.finditer(norm)}
    return found


def non_acceptance_errors(data: dict, path: str = "data") -> list[FieldError]:
    """A refusal because the matter is outside the agency's competence (art. 32(二)) must tell the
    applicant which body to apply to."""
    decision = data.get("decision") if isinstance(data.get("decision"), dict) else {}
    refer_to = decision.get("refer_to")
    if 2 in non_acceptance_grounds(data) and not (isinstance(refer_to, str) and refer_to.strip()):
        return [FieldError(f"{path}/decision/refer_to",
                           "申请事项依法不属于本机关职权范围的，应当即时作出不予受理的决定，并告知申请人向有关行政机关申请"
                           "（《中华人民共和国行政许可法》第三十二条第一款第（二）项）：请填写申请人应当向其申请的行政机关。")]
    return []


# --- hearing notice lead time --------------------------------------------------

def hearing_date_errors(data: dict, earliest: date) -> list[FieldError]:
    """Error on data/hearing/date when the hearing is set before `earliest`.

    `earliest` is the "hearing_notice_lead" deadline (7 working days after the
    notice). A missing date is left to the document's JSON Schema; a malformed
    one is reported here.
    """
    hearing = (data or {}).get("hearing")
    raw = hearing.get("date") if isinstance(hearing, dict) else None
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return []
    when = parse_iso_date(raw.strip()) if isinstance(raw, str) else None
    if when is None:
        return [FieldError("data/hearing/date", "听证日期不是有效日期，格式应为YYYY-MM-DD，例如2026-11-27。")]
    if when < earliest:
        return [FieldError(
            "data/hearing/date",
            f"听证日期{chinese_date(when)}过早：行政机关应当在举行听证的七日（工作日）前通知当事人"
            f"（《中华人民共和国行政处罚法》第六十四条、第八十五条），最早可安排在"
            f"{chinese_date(earliest)}举行听证。",
        )]
    return []
