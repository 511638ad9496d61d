"""Penalties (行政处罚) as the law needs them: what each kind must carry, and
when the party has the right to a hearing (处罚法 art. 63).

A penalty's `kind` is free text written by officers ("罚款", "罚 款",
"吊销食品经营许可证", "责令停业整顿"); it is read by meaning into one of the
kinds of 处罚法 art. 9. What a kind needs to be carried out is then required
(an amount above zero for fines and confiscations, the licence's name and
number for 吊销/暂扣, the scope and period for 责令停产停业/限制从业…), so no
decision or notice prints "罚款" without an amount or "¥0.00".

The hearing right follows from the penalties proposed: 较大数额罚款, 没收较大
数额违法所得/较大价值非法财物 (thresholds per agency profile, since provinces set
较大数额), 降低资质等级, 吊销许可证件, 责令停产停业, 责令关闭, 限制从业 and other
heavy penalties. A notice that withholds it is refused.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from shared.problems import FieldError

__all__ = ["DEFAULT_HEARING_THRESHOLDS", "classify", "content_errors", "hearing_reasons", "hearing_right_errors",
           "is_warning_only"]

WARNING = "warning"                 # 警告、通报批评: nothing to carry out
FINE = "fine"                       # 罚款
CONFISCATION = "confiscation"       # 没收违法所得、没收非法财物
LICENCE_SUSPENSION = "licence_suspension"   # 暂扣许可证件
LICENCE_REVOCATION = "licence_revocation"   # 吊销许可证件（营业执照）
DOWNGRADE = "downgrade"             # 降低资质等级
RESTRICT_OPERATIONS = "restrict_operations"   # 限制开展生产经营活动
STOP_PRODUCTION = "stop_production"  # 责令停产停业
CLOSURE = "closure"                 # 责令关闭
PRACTICE_BAN = "practice_ban"       # 限制从业
DETENTION = "detention"             # 行政拘留 (not this bureau's, still a heavy penalty)
OTHER = "other"                     # 法律、行政法规规定的其他行政处罚

# Order matters: the first pattern that matches names the kind, and two
# different kinds in one entry are refused (one penalty per entry).
_KINDS: tuple[tuple[str, re.Pattern], ...] = tuple((k, re.compile(p)) for k, p in (
    (CONFISCATION, r"没收"),
    (FINE, r"罚款|罚没款"),
    (LICENCE_REVOCATION, r"吊销|撤销.{0,6}(?:许可证|执照|资格证)"),
    (LICENCE_SUSPENSION, r"暂扣|暂停.{0,6}(?:许可证|执照)"),
    (DOWNGRADE, r"降低.{0,4}资质|资质.{0,2}降级|降级"),
    (RESTRICT_OPERATIONS, r"限制(?:开展)?(?:生产)?经营"),
    (STOP_PRODUCTION, r"停产|停业"),
    (CLOSURE, r"关闭|取缔"),
    (PRACTICE_BAN, r"(?:限制|禁止)(?:其)?从业|从业禁止|不得(?:担任|从事)"),
    (DETENTION, r"拘留"),
    (WARNING, r"警告|通报批评"),
))

_LABELS = {
    WARNING: "警告、通报批评", FINE: "罚款", CONFISCATION: "没收违法所得、没收非法财物",
    LICENCE_SUSPENSION: "暂扣许可证件", LICENCE_REVOCATION: "吊销许可证件", DOWNGRADE: "降低资质等级",
    RESTRICT_OPERATIONS: "限制开展生产经营活动", STOP_PRODUCTION: "责令停产停业", CLOSURE: "责令关闭",
    PRACTICE_BAN: "限制从业", DETENTION: "行政拘留", OTHER: "其他行政处罚",
}

# Fields each kind must carry, with what they are (for messages).
_REQUIRED: dict[str, tuple[tuple[str, str], ...]] = {
    FINE: (("amount_yuan", "罚款金额"),),
    CONFISCATION: (("amount_yuan", "没收的违法所得数额或者非法财物的价值"),),
    LICENCE_SUSPENSION: (("license_name", "被暂扣的许可证件名称"), ("license_number", "许可证件编号"),
                         ("period", "暂扣期限")),
    LICENCE_REVOCATION: (("license_name", "被吊销的许可证件名称"), ("license_number", "许可证件编号")),
    DOWNGRADE: (("detail", "降低的资质等级（由何等级降为何等级）"),),
    RESTRICT_OPERATIONS: (("scope", "限制的生产经营活动范围"), ("period", "限制期限")),
    STOP_PRODUCTION: (("scope", "停产停业的范围"), ("period", "停产停业期限")),
    PRACTICE_BAN: (("scope", "限制从业的范围（职务或者行业）"), ("period", "限制从业期限")),
    OTHER: (("detail", "处罚内容"),),
}
_MONETARY = frozenset({FINE, CONFISCATION})

# 较大数额 (处罚法 art. 63(一)(二)) is set by each province; a profile gives its
# figures under "hearing_thresholds". Without them the national market-
# supervision figures apply (《市场监督管理行政处罚听证办法》(2021) 第五条:
# 对自然人一万元以上、对法人或者其他组织十万元以上罚款；没收违法所得和非法财物
# 价值总额达到同样数额), the rule for the registration cases this bureau handles.
DEFAULT_HEARING_THRESHOLDS = {
    "fine": {"person": 10000, "organization": 100000},
    "confiscation": {"person": 10000, "organization": 100000},
    "basis": "《市场监督管理行政处罚听证办法》第五条（对自然人处以一万元以上、对法人或者其他组织处以十万元以上罚款，"
             "没收违法所得和非法财物价值总额达到该数额）",
}
# Penalties that always give the hearing right (art. 63(三)(四)(五)).
_HEAVY = frozenset({LICENCE_REVOCATION, LICENCE_SUSPENSION, DOWNGRADE, RESTRICT_OPERATIONS, STOP_PRODUCTION,
                    CLOSURE, PRACTICE_BAN, DETENTION, OTHER})


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def _kinds_in(kind: str) -> list[str]:
    norm = _normalise(kind)
    found: list[str] = []
    for name, pattern in _KINDS:
        if pattern.search(norm):
            found.append(name)
    if CONFISCATION in found and FINE in found and not re.search(r"罚款", norm.replace("罚没款", "")):
        found.remove(FINE)      # "没收罚没款" style wording names one confiscation
    return found


def classify(kind) -> str:
    """The kind of 处罚法 art. 9 a penalty's `kind` text names (OTHER when none, or several)."""
    if not isinstance(kind, str):
        return OTHER
    found = _kinds_in(kind)
    return found[0] if len(found) == 1 else OTHER


def _penalties(data: dict) -> list:
    decision = data.get("decision") if isinstance(data, dict) else None
    penalties = decision.get("penalties") if isinstance(decision, dict) else None
    return penalties if isinstance(penalties, list) else []


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _amount(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def content_errors(data: dict, path: str = "data") -> list[FieldError]:
    """Errors for every penalty under data/decision/penalties that lacks what the law needs to carry it out,
    carries an amount it cannot have, or names several kinds in one entry."""
    errors: list[FieldError] = []
    for i, penalty in enumerate(_penalties(data)):
        if not isinstance(penalty, dict):
            continue
        here = f"{path}/decision/penalties/{i}"
        kind_text = penalty.get("kind")
        if not isinstance(kind_text, str):
            continue
        found = _kinds_in(kind_text)
        if len(found) > 1:
            errors.append(FieldError(f"{here}/kind",
                                     f"“{kind_text[:50]}”含有多种处罚（{'、'.join(_LABELS[k] for k in found)}），"
                                     "每项处罚应单独列明其种类和内容。"))
            continue
        kind = found[0] if found else OTHER
        label = _LABELS[kind]
        for field, what in _REQUIRED.get(kind, ()):
            value = penalty.get(field)
            if field == "amount_yuan":
                amount = _amount(value)
                if value is None:
                    errors.append(FieldError(f"{here}/amount_yuan",
                                             f"{label}须载明{what}（元），否则决定无法执行。"))
                elif amount is not None and amount <= 0:
                    errors.append(FieldError(f"{here}/amount_yuan",
                                             f"{label}的金额须大于零：{what}为零的，不应作出{label}。"))
            elif _blank(value):
                errors.append(FieldError(f"{here}/{field}", f"“{kind_text[:50]}”须载明{what}，否则决定无法执行。"))
        if kind not in _MONETARY and kind != OTHER and penalty.get("amount_yuan") is not None:
            errors.append(FieldError(f"{here}/amount_yuan",
                                     f"“{kind_text[:50]}”（{label}）不涉及金额，不应填写 amount_yuan；"
                                     "罚款或者没收应作为单独的一项处罚列明。"))
    return errors


def is_warning_only(data: dict) -> bool:
    """Every penalty is a warning or a circulated criticism: nothing to enforce, nothing to publish."""
    penalties = [p for p in _penalties(data) if isinstance(p, dict)]
    return bool(penalties) and all(classify(p.get("kind")) == WARNING for p in penalties)


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"


def _threshold(thresholds: dict, what: str, party_kind: str) -> Decimal:
    table = thresholds.get(what) or DEFAULT_HEARING_THRESHOLDS[what]
    value = table.get(party_kind if party_kind in ("person", "organization") else "person")
    return Decimal(str(value))


def hearing_reasons(data: dict, thresholds: dict | None = None) -> list[str]:
    """Why the law gives this party the hearing right for the penalties proposed (empty: it does not)."""
    thresholds = thresholds or DEFAULT_HEARING_THRESHOLDS
    party = data.get("party") if isinstance(data.get("party"), dict) else {}
    party_kind = party.get("kind") or "person"
    who = "法人或者其他组织" if party_kind == "organization" else "自然人"
    reasons: list[str] = []
    fines = Decimal(0)
    confiscated = Decimal(0)
    for penalty in _penalties(data):
        if not isinstance(penalty, dict):
            continue
        kind = classify(penalty.get("kind"))
        amount = _amount(penalty.get("amount_yuan")) or Decimal(0)
        if kind == FINE:
            fines += amount
        elif kind == CONFISCATION:
            confiscated += amount
        elif kind in _HEAVY:
            reasons.append(f"拟作出{str(penalty.get('kind'))[:50]}（{_LABELS[kind]}）")
    for total, what, label in ((fines, "fine", "罚款"), (confiscated, "confiscation", "没收违法所得、非法财物")):
        limit = _threshold(thresholds, what, party_kind)
        if total > 0 and total >= limit:
            reasons.append(f"拟对{who}{label}{_yuan(total)}元，达到较大数额（{_yuan(limit)}元以上）")
    return reasons


def hearing_right_errors(data: dict, thresholds: dict | None = None, path: str = "data") -> list[FieldError]:
    """Error on data/hearing_right when a notice withholds the hearing right the law gives."""
    reasons = hearing_reasons(data, thresholds)
    if reasons and data.get("hearing_right") is False:
        basis = (thresholds or {}).get("basis") or DEFAULT_HEARING_THRESHOLDS["basis"]
        return [FieldError(f"{path}/hearing_right",
                           f"当事人依法享有要求听证的权利，不得告知为无听证权利：{'；'.join(reasons)}"
                           f"（《中华人民共和国行政处罚法》第六十三条；较大数额标准：{basis}）。")]
    return []
