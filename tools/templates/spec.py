"""A document type as drafted: catalogue entry, schema, example and layout."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tools.templates.blocks import Doc
from tools.templates.vocabulary import SCHEMA_DIALECT, obj, use

VERSION = "2026.1"
LICENSE_SIGNER = "agency.alias or agency.name"   # the 行政审批局 that bears the 行政许可专用章


@dataclass
class Spec:
    type: str
    title: str
    flow: str            # license | penalty | common
    number_kind: str
    seal: str            # license | agency | none
    layout: Callable[[Doc], None]
    props: dict
    required: list
    example: dict
    deadlines: list = field(default_factory=list)
    remedy: bool = False
    party_writes: bool = False
    footer_sign: tuple | None = None   # signers on every page (records)
    description: str = ""

    def catalogue_entry(self) -> dict:
        return {"type": self.type, "title": self.title, "flow": self.flow, "version": VERSION,
                "number_kind": self.number_kind, "seal": self.seal, "remedy": self.remedy,
                "party_writes": self.party_writes, "deadlines": list(self.deadlines)}

    def schema(self) -> dict:
        props = {**self.props, "issued_on": use("issued_on"), "agency": use("agency")}
        return {
            "$schema": SCHEMA_DIALECT,
            "title": f"{self.title}数据",
            "description": self.description or f"生成《{self.title}》所需的数据",
            **obj(props, self.required),
        }

    def document(self) -> Doc:
        signer = LICENSE_SIGNER if self.seal == "license" or self.flow == "license" else "agency.name"
        doc = Doc(signer=signer, footer_sign=self.footer_sign)
        self.layout(doc)
        return doc


SPECS: list[Spec] = []


def spec(fn: Callable[[], Spec]) -> Callable[[], Spec]:
    """Register a document type (module import order is catalogue order)."""
    SPECS.append(fn())
    return fn


# -- example values shared by several payloads -----------------------------------------
# Dates tell one lawful story per flow, inside 2026 (the holiday calendar ends there):
# license: received 10-12 (supplement notice 10-13), complete 10-19 and accepted the
# same day, hearing rights 10-21, site inspection 10-26, extension approved 11-10 and
# notified 11-11, decided 11-13 (20 working days from 10-19 end 11-16);
# penalty: clue 09-01, filed 09-03, inspection and rectification order 09-04 (改正 by
# 09-25), inquiry 09-08, prior notice 10-20, statement 10-23, hearing notice 10-26 for
# 11-05, legal review 11-10, decision 11-16 (90 days from filing end 12-02), served
# 11-17, paid 11-25, closed 11-27.

COMPANY = {
    "kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司",
    "credit_code": "91210302MA10Q8KX3B", "legal_representative": "王明",
    "address": "辽宁省鞍山市铁东区胜利南路示例大厦1层", "phone": "0412-5550101",
}
TRADER = {
    "kind": "organization", "name": "鞍山示例商贸有限公司",
    "credit_code": "91210303MA0U7F2N4K", "legal_representative": "李华",
    "address": "辽宁省鞍山市铁西区人民路示例号", "phone": "13904120000",
}
PERSON = {"kind": "person", "name": "赵丽", "id_type": "居民身份证", "id_number": "210381199203154428",
          "address": "辽宁省海城市示例街道示例路8号", "phone": "13841200000"}
HANDLERS = [{"name": "张伟", "certificate_number": "21030012345"},
            {"name": "刘洋", "certificate_number": "21030012346"}]
FOOD_ITEM = "食品经营许可（餐饮服务）"
LICENSE_APPLICATION = {"item": FOOD_ITEM, "received_on": "2026-10-19", "accepted_on": "2026-10-19"}
PENALTY_CASE = {"number": "鞍审批案〔2026〕7号", "cause": "未依法办理住所变更登记",
                "filed_on": "2026-09-03", "source": "监督检查"}
REGISTRATION_ARTICLES = ["《中华人民共和国市场主体登记管理条例》第二十四条第一款"]
PENALTY_BASIS = ["《中华人民共和国市场主体登记管理条例》第四十六条"]
PENALTY_FACTS = ("当事人于2026年6月将住所由鞍山市铁西区人民路示例号迁至鞍山市铁西区建设大道示例号，"
                 "未在法定期限内申请住所变更登记。本机关于2026年9月4日责令当事人于2026年9月25日前"
                 "改正，当事人逾期仍未改正。")
PENALTY_EVIDENCE = ["现场检查（勘验）笔录1份，证明当事人实际经营地址与登记住所不一致",
                    "询问笔录1份，证明当事人搬迁时间及未办理变更登记的事实",
                    "责令改正通知书及送达回证各1份，证明本机关已责令当事人限期改正",
                    "现场照片6张"]
FINE = [{"kind": "罚款", "amount_yuan": 20000}]
