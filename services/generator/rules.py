"""Rules of the bureau's enforcement standardisation plan, as pure functions.

Checks return lists of `FieldError` (paths slash-separated, e.g.
"data/party/name") so the caller can report every problem at once;
`remedy_clause` builds text and raises `Problem` when it cannot.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date

from shared.problems import FieldError, Problem, invalid

__all__ = [
    "WAIVER_PHRASES",
    "control_character_errors",
    "prefilled_waiver_errors",
    "remedy_clause",
    "hearing_date_errors",
]


# --- control characters -----------------------------------------------------

def _is_forbidden_control(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x20:
        return ch not in "\t\n\r"
    # Lone surrogates (JSON allows "\ud800") and noncharacters cannot be
    # written to a Word document's XML at all.
    return (cp == 0x7F or 0x80 <= cp <= 0x9F or 0xD800 <= cp <= 0xDFFF
            or 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE)


def _pointer_token(key: str) -> str:
    # JSON Pointer escaping (RFC 6901), so a key containing "/" keeps the path unambiguous.
    return key.replace("~", "~0").replace("/", "~1")


def _control_message(text: str, what: str) -> str | None:
    found: list[str] = []
    for ch in text:
        if _is_forbidden_control(ch):
            code = f"U+{ord(ch):04X}"
            if code not in found:
                found.append(code)
    if not found:
        return None
    return f"{what}含有不可见控制字符或无效字符（{'、'.join(found)}），请删除后重试。"


def control_character_errors(value, path: str = "data") -> list[FieldError]:
    """Errors for every string (and dict key) under `value` holding C0 (except TAB, LF, CR), DEL or C1 controls."""
    errors: list[FieldError] = []

    def walk(node, here: str) -> None:
        if isinstance(node, str):
            msg = _control_message(node, "")
            if msg:
                errors.append(FieldError(here, msg))
        elif isinstance(node, dict):
            for key, child in node.items():
                child_path = f"{here}/{_pointer_token(str(key))}"
                if isinstance(key, str):
                    msg = _control_message(key, "字段名")
                    if msg:
                        errors.append(FieldError(child_path, msg))
                walk(child, child_path)
        elif isinstance(node, (list, tuple)):
            for i, child in enumerate(node):
                walk(child, f"{here}/{i}")

    walk(value, path)
    return errors


# --- pre-printed waivers (plan item 7) ---------------------------------------

# Phrases that acknowledge or waive a party's rights. On statement/defence and
# hearing-rights notices these must be written by the party in their own hand,
# so the generator refuses any data that pre-fills them.
WAIVER_PHRASES: tuple[str, ...] = (
    "我已知晓",
    "已知晓",
    "本人知晓",
    "不申请听证",
    "放弃听证",
    "放弃陈述",
    "放弃申辩",
    "放弃陈述申辩",
    "放弃陈述和申辩",
    "放弃陈述、申辩",
    "无陈述申辩",
    "不陈述",
    "不申辩",
    "无异议",
    "同意处罚",
    "认可处罚",
)

_IGNORABLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]+")


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = _IGNORABLE.sub("", text)
    # Other invisible format characters (category Cf) would also split a phrase.
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


_PHRASES_NORMALISED = sorted(
    {(_normalise(p), p) for p in WAIVER_PHRASES}, key=lambda item: -len(item[0])
)


def _waivers_in(text: str) -> list[str]:
    norm = _normalise(text)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, str]] = []
    for needle, phrase in _PHRASES_NORMALISED:
        start = norm.find(needle)
        while start != -1:
            end = start + len(needle)
            # A shorter phrase inside a longer one already reported is the same finding.
            if not any(s <= start and end <= e for s, e in taken):
                taken.append((start, end))
                if all(p != phrase for _, p in found):
                    found.append((start, phrase))
            start = norm.find(needle, start + 1)
    return [phrase for _, phrase in sorted(found)]


def prefilled_waiver_errors(data, path: str = "data") -> list[FieldError]:
    """Errors for every string under `data` that pre-fills a waiver or acknowledgement of rights."""
    errors: list[FieldError] = []

    def walk(node, here: str) -> None:
        if isinstance(node, str):
            phrases = _waivers_in(node)
            if phrases:
                quoted = "".join(f"“{p}”" for p in phrases)
                errors.append(FieldError(
                    here,
                    f"当事人的陈述、申辩意见及是否申请听证须由当事人本人手写，不得预先填写{quoted}。",
                ))
        elif isinstance(node, dict):
            for key, child in node.items():
                walk(child, f"{here}/{_pointer_token(str(key))}")
        elif isinstance(node, (list, tuple)):
            for i, child in enumerate(node):
                walk(child, f"{here}/{i}")

    walk(data, path)
    return errors


# --- remedy clause ------------------------------------------------------------

_BODY_PATH = "data/agency/reconsideration_body"
_COURT_PATH = "data/agency/court"


def remedy_clause(agency: dict) -> str:
    """The remedy sentence naming the reconsideration body and the court.

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
    return (
        f"如不服本决定，可以自收到本决定书之日起六十日内向{body}申请行政复议，"
        f"也可以自收到本决定书之日起六个月内向{court}提起行政诉讼。"
    )


# --- hearing notice lead time --------------------------------------------------

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    when: date | None = None
    if isinstance(raw, str) and _ISO_DATE.match(raw.strip()):
        try:
            when = date.fromisoformat(raw.strip())
        except ValueError:
            when = None
    if when is None:
        return [FieldError("data/hearing/date", "听证日期不是有效日期，格式应为YYYY-MM-DD，例如2026-11-27。")]
    if when < earliest:
        return [FieldError(
            "data/hearing/date",
            f"听证日期{when.year}年{when.month}月{when.day}日过早：行政机关应当在举行听证的七日（工作日）前通知当事人"
            f"（《中华人民共和国行政处罚法》第六十四条、第八十五条），最早可安排在"
            f"{earliest.year}年{earliest.month}月{earliest.day}日举行听证。",
        )]
    return []
