"""The shared data vocabulary (DESIGN.md "Shared vocabulary of data") and the
helpers the document types' schemas are written with.

The vocabulary is written once, to vocabulary.schema.json (`$defs`); a type's
schema refers to an entry with `use("party", required=[...])`, i.e.
{"$ref": "vocabulary.schema.json#/$defs/party", "required": [...]}: the
vocabulary says what a name means, the type says which fields it needs.
"""
from __future__ import annotations

import copy

VOCABULARY_FILE = "vocabulary.schema.json"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

NAME, SHORT, LINE, TEXT = 100, 50, 500, 5000
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
ID_PATTERN = r"^\d{17}[\dXx]$"
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"
PHONE_PATTERN = r"^[0-9+()\- ]{5,30}$"


# -- helpers -------------------------------------------------------------------

def string(desc: str, max_length: int = NAME, **extra) -> dict:
    """A non-empty string: an empty one would print a label with nothing after it."""
    return {"type": "string", "description": desc, "minLength": 1, "maxLength": max_length, **extra}


def text(desc: str) -> dict:
    return string(desc, TEXT)


def date(desc: str) -> dict:
    return {"type": "string", "format": "date", "pattern": DATE_PATTERN,
            "description": desc + "（YYYY-MM-DD）"}


def clock(desc: str) -> dict:
    return {"type": "string", "pattern": TIME_PATTERN, "description": desc + "（HH:MM，24小时制）"}


def boolean(desc: str) -> dict:
    return {"type": "boolean", "description": desc}


def amount(desc: str) -> dict:
    # precision (fen) and the upper bound are checked in code
    return {"type": "number", "minimum": 0, "description": desc}


def array(items: dict, desc: str, min_items: int | None = None, max_items: int = 100) -> dict:
    out = {"type": "array", "description": desc, "items": items, "maxItems": max_items}
    if min_items:
        out["minItems"] = min_items
    return out


def obj(props: dict, required=(), desc: str | None = None) -> dict:
    """A closed object."""
    for name in required:
        if name not in props:
            raise KeyError(f"required property {name!r} is not defined")
    out = {"type": "object"}
    if desc:
        out["description"] = desc
    out.update({"additionalProperties": False, "properties": copy.deepcopy(props)})
    if required:
        out["required"] = list(required)
    return out


def local(name: str) -> dict:
    """A reference from one vocabulary entry to another."""
    return {"$ref": f"#/$defs/{name}"}


def use(name: str, required=None, desc: str | None = None) -> dict:
    """A type schema's reference to a vocabulary entry, with the fields this
    type requires (always including the entry's own required fields)."""
    entry = DEFS[name]
    out = {"$ref": f"{VOCABULARY_FILE}#/$defs/{name}"}
    if desc:
        out["description"] = desc
    if required is not None:
        unknown = [f for f in required if f not in entry["properties"]]
        if unknown:
            raise KeyError(f"{name} has no fields {unknown}")
        out["required"] = list(dict.fromkeys([*entry.get("required", []), *required]))
    return out


# -- the vocabulary --------------------------------------------------------------

PARTY = obj({
    "kind": {"type": "string", "enum": ["person", "organization"],
             "description": "当事人类别：person 自然人；organization 法人或者其他组织"},
    "name": string("当事人姓名或者名称"),
    "id_type": string("身份证件类型（自然人，如：居民身份证）", SHORT),
    "id_number": string("身份证件号码（自然人，18位公民身份号码）", 18, pattern=ID_PATTERN),
    "credit_code": string("统一社会信用代码（法人或者其他组织，18位）", 18, pattern=CREDIT_CODE_PATTERN),
    "legal_representative": string("法定代表人或者负责人姓名（法人或者其他组织）"),
    "address": string("住所（法人或者其他组织）或者住址（自然人）", 200),
    "phone": string("联系电话", 30, pattern=PHONE_PATTERN),
}, ["kind", "name"], "当事人")

CASE = obj({
    "number": string("案件编号（办案系统案号）", SHORT),
    "cause": string("案由，不含“案”字（如：未依法办理住所变更登记）", 200),
    "filed_on": date("立案日期"),
    "source": string("案件来源（如：投诉举报、监督检查、上级交办、其他部门移送）"),
}, desc="案件")

APPLICATION = obj({
    "item": string("申请的行政许可事项", 200),
    "applicant": string("申请人（文书送达利害关系人时填写）"),
    "received_on": date("收到申请材料日期"),
    "accepted_on": date("受理日期"),
    "materials": array(local("material"), "已收到的申请材料", 1),
    "missing_materials": array(local("missing_material"), "需要补正的全部材料（一次性告知）", 1),
}, desc="行政许可申请")

MATERIAL = obj({
    "name": string("材料名称", 200),
    "copies": {"type": "integer", "minimum": 1, "maximum": 999, "description": "份数"},
    "form": string("材料形式（如：原件、复印件、电子件）", 20),
}, ["name"], "申请材料")

MISSING_MATERIAL = obj({
    "name": string("需要补正的材料名称", 200),
    "requirement": string("补正要求", 1000),
}, ["name", "requirement"], "需要补正的材料")

PROVISIONS = array(string("法律、法规、规章条款，如：《中华人民共和国行政许可法》第三十八条第一款", 200),
                   "法律、法规、规章条款", 1, 50)

DECISION = obj({
    "date": date("决定日期"),
    "number": string("决定书文号", SHORT),
    "content": text("决定内容（准予许可的，为许可的事项、范围和条件）"),
    "reasons": text("理由（不予受理、不予许可的理由；处罚决定中为裁量理由）"),
    "violated": {**local("provisions"), "description": "违反的法律、法规、规章条款"},
    "legal_basis": {**local("provisions"), "description": "作出决定的法律依据"},
    "refer_to": string("告知申请人向其申请的有权行政机关"),
    "license_number": string("许可证件编号", SHORT),
    "valid_from": date("有效期起始日期"),
    "valid_to": date("有效期截止日期"),
    "penalties": array(local("penalty"), "行政处罚种类和内容", 1, 20),
    "performance": string("履行方式（如罚款缴纳方式、地点）", 1000),
}, desc="决定")

PENALTY = obj({
    "kind": string("处罚种类（如：警告、罚款、没收违法所得、吊销许可证件）"),
    "amount_yuan": amount("金额（元），打印为大写并附小写，如：人民币贰万元整（¥20,000.00）"),
    "detail": string("处罚内容说明（降低资质等级的，写明由何等级降为何等级）", LINE),
    "license_name": string("许可证件名称（吊销、暂扣许可证件时必填）", 200),
    "license_number": string("许可证件编号（吊销、暂扣许可证件时必填）", SHORT),
    "scope": string("范围（责令停产停业、限制从业、限制开展生产经营活动时必填）", LINE),
    "period": string("期限（责令停产停业、限制从业、暂扣许可证件等时必填，如：三个月）", SHORT),
}, ["kind"], "一项行政处罚。罚款、没收须填写大于零的金额")

AGENCY = obj({
    "profile": string("机关配置的标识（不填则为默认机关）；机关名称、印章、复议机关和法院均取自该配置", SHORT),
    "contact": string("本文书的联系人"),
    "phone": string("本文书的联系电话", 30, pattern=PHONE_PATTERN),
    "address": string("本文书的联系地址", 200),
    "postcode": string("邮政编码", 6, pattern=r"^\d{6}$"),
}, desc="本文书的机关选择和联系方式（机关身份只取自机关配置）")

HANDLER = obj({
    "name": string("执法人员姓名"),
    "certificate_number": string("行政执法证件号码", SHORT),
}, ["name", "certificate_number"], "执法人员")

EXTENSION = obj({
    "reason": string("延期理由", 1000),
    "approved_on": date("本机关负责人批准延期日期"),
    "approved_by": string("批准延期的负责人"),
    "until": date("延长后的期限截止日期"),
    "provision": string("延长期限所依据的法律、法规、规章条款（行政处罚案件必填，如：《市场监督管理行政处罚程序规定》"
                        "第六十四条）", 200),
    "collective_decision_on": date("本机关负责人集体讨论决定继续延期的日期（行政处罚案件延长超过三十日时必填）"),
}, desc="经本机关负责人批准延长办理期限")

# 许可法 art. 45: time for these is not counted in the decision period; the applicant is told in writing.
EXCLUDED_KINDS = ["听证", "招标", "拍卖", "检验", "检测", "检疫", "鉴定", "专家评审"]
EXCLUDED_PERIOD = obj({
    "kind": {"type": "string", "enum": EXCLUDED_KINDS, "description": "事项（行政许可法第四十五条）"},
    "basis": string("依法需要该事项的法律、法规、规章条款", 200),
    "started_on": date("开始日期"),
    "ended_on": date("结束日期"),
}, ["kind", "basis", "started_on", "ended_on"], "不计算在许可期限内的期间")

INSPECTION = obj({
    "date": date("检查（核查）日期"),
    "started_at": clock("开始时间"),
    "ended_at": clock("结束时间"),
    "place": string("检查（核查）地点", 200),
    "present": obj({"name": string("在场人姓名"),
                    "relation": string("在场人与当事人关系或者职务", SHORT),
                    "phone": string("在场人联系电话", 30, pattern=PHONE_PATTERN)},
                   ["name"], "在场人"),
    "recorder": string("记录人"),
    "findings": text("检查（核查）情况"),
}, ["date", "started_at", "ended_at", "place", "findings"], "检查（核查）情况")

DEFS = {
    "agency": AGENCY,
    "application": APPLICATION,
    "case": CASE,
    "decision": DECISION,
    "evidence": array(string("证据名称及证明内容", LINE), "证据", 1),
    "excluded_period": EXCLUDED_PERIOD,
    "excluded_periods": array(local("excluded_period"), "依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的期间，"
                              "所需时间不计算在作出行政许可决定的期限内（行政许可法第四十五条）", 1, 20),
    "extension": EXTENSION,
    "facts": text("查明的事实：经调查查明的案件事实"),
    "handler": HANDLER,
    "handlers": array(local("handler"), "执法人员（不少于两名）", 2, 10),
    "inspection": INSPECTION,
    "issued_on": date("文书签发日期（不填则为生成当日）"),
    "material": MATERIAL,
    "missing_material": MISSING_MATERIAL,
    "party": PARTY,
    "penalty": PENALTY,
    "provisions": PROVISIONS,
}


def vocabulary_schema() -> dict:
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "执法文书数据词汇",
        "description": "各类文书共用的数据名称及其含义；每类文书的 JSON Schema 引用这里的定义，"
                       "并列出该类文书必填的字段",
        "$defs": copy.deepcopy(DEFS),
    }
