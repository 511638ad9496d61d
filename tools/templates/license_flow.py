"""Licensing flow (行政许可): the eight document types."""
from __future__ import annotations

from tools.templates.blocks import HANDLERS_INLINE, TR, Doc, L, V, joined
from tools.templates.spec import COMPANY, FOOD_ITEM, HANDLERS, LICENSE_APPLICATION, PERSON, Spec, spec
from tools.templates.vocabulary import string, use

EXTENSION_LINE = ("{% if extension %}因{{ extension.reason }}，经本机关负责人"
                  "{% if extension.approved_by %}{{ extension.approved_by }}{% endif %}批准，"
                  "办理期限已依法延长十个工作日。{% endif %}")



def excluded_periods(d) -> None:
    """许可法 art. 45: the periods not counted, told to the applicant in writing."""
    d.tag("if excluded_periods")
    d.body("依照《中华人民共和国行政许可法》第四十五条的规定，下列期间所需时间不计算在作出行政许可决定的期限内：",
           keep_next=True)
    d.tag("for x in excluded_periods")
    d.body("{{ loop.index }}. {{ x.kind }}：{{ x.started_on }}至{{ x.ended_on }}（依据：{{ x.basis }}）")
    d.tag("endfor")
    d.tag("endif")

@spec
def _license_supplement_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，经审查，"
               "申请材料不齐全或者不符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款"
               "第（四）项的规定，现一次性告知{{ you }}需要补正的全部内容如下：", keep_next=True)
        d.form([16, 56, 84], [
            [L("序号"), L("需要补正的材料"), L("补正要求")],
            TR("for m in application.missing_materials"),
            [L("{{ loop.index }}"), V("{{ m.name }}"), V("{{ m.requirement }}")],
            TR("endfor"),
        ], header=True)
        d.body("请{{ you }}按照上述要求补正全部材料后向本机关提交。{{ you }}提交全部补正材料后，"
               "本机关将依法予以受理。")
        d.body("特此告知。")
        d.contact()
        d.seal()

    return Spec(
        "license_supplement_notice", "补正材料通知书", "license", "许补字", "license", layout,
        props={"party": use("party", []),
               "application": use("application", ["item", "received_on", "missing_materials"])},
        required=["party", "application"],
        deadlines=["license_supplement_notice"],
        description="申请材料不齐全或者不符合法定形式时，一次性告知申请人需要补正的全部内容"
                    "（行政许可法第三十二条）",
        example={
            "issued_on": "2026-10-13",
            "party": COMPANY,
            "application": {
                "item": FOOD_ITEM, "received_on": "2026-10-12",
                "missing_materials": [
                    {"name": "食品安全管理制度文本",
                     "requirement": "提交从业人员健康管理、进货查验记录、食品安全自查等制度文本，加盖单位公章。"},
                    {"name": "经营场所和设备布局、操作流程示意图",
                     "requirement": "标明加工操作区域、面积和主要设备位置，比例清晰，加盖单位公章。"},
                    {"name": "食品安全管理人员身份证明复印件",
                     "requirement": "复印件应当清晰完整，并由申请人签字确认。"},
                ],
            },
        },
    )


@spec
def _license_acceptance_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，申请材料齐全、"
               "符合法定形式。根据《中华人民共和国行政许可法》第三十二条第一款第（五）项的规定，"
               "本机关决定予以受理，受理日期为{{ application.accepted_on }}。")
        d.body("本机关将自受理之日起二十个工作日内，即于{{ deadlines.license_decision }}前作出行政许可"
               "决定。依法需要听证、招标、拍卖、检验、检测、检疫、鉴定和专家评审的，所需时间不计算在"
               "上述期限内，本机关将书面告知{{ you }}所需时间。")
        d.body("本机关收到的申请材料如下：", keep_next=True)
        d.form([16, 98, 16, 26], [
            [L("序号"), L("材料名称"), L("份数"), L("形式")],
            TR("for m in application.materials"),
            [L("{{ loop.index }}"), V("{{ m.name }}"), L("{{ m.copies }}"), L("{{ m.form }}")],
            TR("endfor"),
        ], header=True)
        d.body("特此通知。")
        d.contact()
        d.seal()

    return Spec(
        "license_acceptance_notice", "受理通知书", "license", "许受字", "license", layout,
        props={"party": use("party", []),
               "application": use("application", ["item", "received_on", "accepted_on", "materials"])},
        required=["party", "application"],
        deadlines=["license_decision"],
        example={
            "issued_on": "2026-10-19",
            "party": COMPANY,
            "application": {
                **LICENSE_APPLICATION,
                "materials": [
                    {"name": "食品经营许可申请书", "copies": 1, "form": "原件"},
                    {"name": "营业执照", "copies": 1, "form": "复印件"},
                    {"name": "食品安全管理制度文本", "copies": 1, "form": "原件"},
                    {"name": "经营场所和设备布局、操作流程示意图", "copies": 1, "form": "原件"},
                    {"name": "食品安全管理人员身份证明", "copies": 1, "form": "复印件"},
                ],
            },
        },
    )


@spec
def _license_non_acceptance_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，经审查，"
               "{{ decision.reasons }}")
        d.body("根据" + joined("decision.legal_basis") + "的规定，本机关决定不予受理。")
        d.tag("if decision.refer_to")
        d.body("请{{ you }}向{{ decision.refer_to }}提出申请。")
        d.tag("endif")
        d.body("{{ remedy_clause }}")
        d.contact()
        d.seal()

    return Spec(
        "license_non_acceptance_decision", "不予受理决定书", "license", "不予受字", "license", layout,
        props={"party": use("party", []), "application": use("application", ["item", "received_on"]),
               "decision": use("decision", ["reasons", "legal_basis"])},
        required=["party", "application", "decision"],
        deadlines=["publication_other"], remedy=True,
        description="申请事项不需要取得行政许可或者不属于本机关职权范围等情形，作出不予受理决定"
                    "（行政许可法第三十二条）。依第三十二条第一款第（二）项不予受理的，须在 decision.refer_to 中"
                    "告知申请人应当向其申请的行政机关；第（一）、（二）项应当即时作出。",
        example={
            "issued_on": "2026-10-12",   # 即时: on the day the application is received (art. 32)
            "party": PERSON,
            "application": {"item": FOOD_ITEM, "received_on": "2026-10-12"},
            "decision": {
                "reasons": "你申请的经营场所位于海城市，该经营场所的食品经营许可依法应当向经营场所所在地"
                           "县级行政审批部门申请，申请事项依法不属于本机关职权范围。",
                "legal_basis": ["《中华人民共和国行政许可法》第三十二条第一款第（二）项"],
                "refer_to": "海城市行政审批局",
            },
        },
    )


@spec
def _license_extension_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("本机关于{{ application.accepted_on }}受理{{ you }}提出的{{ application.item }}申请。"
               "因{{ extension.reason }}，本机关不能在二十个工作日内作出决定。经本机关负责人"
               "{% if extension.approved_by %}{{ extension.approved_by }}{% endif %}"
               "于{{ extension.approved_on }}批准，根据《中华人民共和国行政许可法》第四十二条第一款的规定，"
               "决定将办理期限延长十个工作日，本机关将于{{ deadlines.license_decision_extended }}前作出"
               "行政许可决定。")
        excluded_periods(d)
        d.body("特此通知。")
        d.contact()
        d.seal()

    return Spec(
        "license_extension_notice", "延期通知书", "license", "许延字", "license", layout,
        props={"party": use("party", []), "application": use("application", ["item", "accepted_on"]),
               "extension": use("extension", ["reason", "approved_on"]),
               "excluded_periods": use("excluded_periods")},
        required=["party", "application", "extension"],
        deadlines=["license_decision_extended"],
        example={
            "issued_on": "2026-11-11",
            "party": COMPANY,
            "application": LICENSE_APPLICATION,
            "extension": {"reason": "该申请涉及中央厨房经营项目，需对经营场所布局和工艺流程进行现场核查并"
                                    "组织专业人员论证，情况复杂",
                          "approved_on": "2026-11-10", "approved_by": "局长孙立"},
        },
    )


@spec
def _license_hearing_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("本机关受理的{% if application.applicant %}{{ application.applicant }}提出的{% endif %}"
               "{{ application.item }}申请，{{ reason }}。根据《中华人民共和国行政许可法》第四十七条"
               "第一款的规定，{{ you }}享有要求听证的权利。")
        d.body("{{ you }}要求听证的，应当在被告知听证权利之日起五个工作日内向本机关提出（本告知书于"
               "签发当日送达的，截止日期为{{ deadlines.license_hearing_request }}）。本机关将在收到听证"
               "申请之日起二十个工作日内组织听证，并于举行听证的七日前将听证的时间、地点通知{{ you }}。"
               "{{ you }}不承担本机关组织听证的费用。")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("是否要求听证及理由（由当事人本人书写）：", 4)
        d.sign("当事人签名（盖章）")

    return Spec(
        "license_hearing_notice", "听证告知书", "license", "许听告字", "license", layout,
        props={"party": use("party", []), "application": use("application", ["item"]),
               "reason": string("告知听证权利的事由（如：该申请直接涉及申请人与他人之间重大利益关系）", 1000)},
        required=["party", "application", "reason"],
        deadlines=["license_hearing_request"], party_writes=True,
        description="行政许可直接涉及申请人与他人之间重大利益关系时，告知申请人、利害关系人享有要求"
                    "听证的权利（行政许可法第四十七条）。是否要求听证由当事人本人书写。",
        example={
            "issued_on": "2026-10-21",
            "party": {"kind": "organization", "name": "鞍山市铁东区邻里物业服务有限公司",
                      "credit_code": "91210302MA0Y3L5T2C", "legal_representative": "孙强",
                      "address": "辽宁省鞍山市铁东区胜利南路示例大厦物业服务中心"},
            "application": {**LICENSE_APPLICATION, "applicant": COMPANY["name"]},
            "reason": "其经营场所位于你单位管理的住宅楼底层，油烟排放设施的设置直接涉及申请人与你单位"
                      "所代表业主之间的重大利益关系",
        },
    )


@spec
def _license_site_inspection_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.field("核查时间", "{{ inspection.date }} {{ inspection.started_at }} 至 {{ inspection.ended_at }}")
        d.field("核查地点", "{{ inspection.place }}")
        d.field("核查人员", HANDLERS_INLINE)
        d.field("记录人", "{{ inspection.recorder }}", when="inspection.recorder")
        d.field("申请人", "{{ party.name }}")
        d.field("申请事项", "{{ application.item }}")
        d.field("在场人", "{{ inspection.present.name }}{% if inspection.present.relation %}"
                       "（{{ inspection.present.relation }}）{% endif %}"
                       "{% if inspection.present.phone %}　联系电话：{{ inspection.present.phone }}{% endif %}",
                when="inspection.present")
        d.body("核查人员已出示执法证件并告知：我们是{{ signer }}的工作人员，现依法对{{ you }}申请"
               "的{{ application.item }}事项进行现场核查，请予配合，如实提供有关情况和材料。{{ you }}"
               "认为核查人员与本事项有直接利害关系的，有权申请回避。")
        d.p("核查情况：", style="ZF Plain", keep_next=True)
        d.body("{{ inspection.findings }}", keep_next=True)
        d.record_ack("被核查人")
        d.sign("被核查人签名", keep_next=True)
        d.sign("核查人员签名", blanks=2, keep_next=True)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "license_site_inspection_record", "现场核查笔录", "license", "许核字", "none", layout,
        props={"party": use("party", []), "application": use("application", ["item"]),
               "inspection": use("inspection"), "handlers": use("handlers")},
        required=["party", "application", "inspection", "handlers"],
        footer_sign=("被核查人签名", "核查人员签名"), party_writes=True,
        description="对申请材料的实质内容进行现场核查的记录。被核查人的核对意见和签名由本人书写。",
        example={
            "issued_on": "2026-10-26",
            "party": COMPANY,
            "application": LICENSE_APPLICATION,
            "inspection": {
                "date": "2026-10-26", "started_at": "09:30", "ended_at": "10:40",
                "place": "辽宁省鞍山市铁东区胜利南路示例大厦1层",
                "present": {"name": "王明", "relation": "法定代表人", "phone": "0412-5550101"},
                "recorder": "刘洋",
                "findings": "经营场所面积约180平方米，设有粗加工、烹饪、餐用具清洗消毒和专间等功能区，"
                            "布局与申请材料所附示意图一致；冷藏冷冻设备4台运行正常，消毒柜2台，"
                            "专间设有独立空调和紫外线消毒灯；从业人员8人均持有有效健康证明。",
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _license_grant_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，本机关于"
               "{{ application.accepted_on }}依法受理。" + EXTENSION_LINE + "经审查，{{ you }}的申请符合"
               "法定条件、标准。根据" + joined("decision.legal_basis") + "的规定，本机关决定准予行政许可。")
        excluded_periods(d)
        d.body("许可内容：{{ decision.content }}")
        d.tag("if decision.license_number")
        d.body("许可证件编号：{{ decision.license_number }}")
        d.tag("endif")
        d.tag("if decision.valid_to")
        d.body("有效期：{% if decision.valid_from %}自{{ decision.valid_from }}{% endif %}"
               "至{{ decision.valid_to }}。")
        d.tag("endif")
        d.body("本机关将于{{ deadlines.license_certificate_delivery }}前向{{ you }}颁发、送达行政许可"
               "证件。请{{ you }}在许可范围内依法从事相关活动；许可事项发生变更的，应当依法申请变更。")
        d.body("{{ remedy_clause }}")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "license_grant_decision", "准予行政许可决定书", "license", "许准字", "license", layout,
        props={"party": use("party", []),
               "application": use("application", ["item", "received_on", "accepted_on"]),
               "decision": use("decision", ["date", "content", "legal_basis"]),
               "extension": use("extension", ["reason", "approved_on"]),
               "excluded_periods": use("excluded_periods")},
        required=["party", "application", "decision"],
        deadlines=["license_certificate_delivery", "publication_decision"], remedy=True,
        description="准予行政许可的决定。许可的条件、范围或者有效期可以由申请人或者利害关系人申请行政复议"
                    "或者提起行政诉讼，故载明救济途径。",
        example={
            "party": COMPANY,
            "application": LICENSE_APPLICATION,
            "decision": {
                "date": "2026-11-13",
                "content": "准予你单位从事餐饮服务经营活动，经营项目：热食类食品制售、冷食类食品制售；"
                           "经营场所：辽宁省鞍山市铁东区胜利南路示例大厦1层。",
                "legal_basis": ["《中华人民共和国食品安全法》第三十五条第一款",
                                "《中华人民共和国行政许可法》第三十八条第一款"],
                "license_number": "JY22103020012345",
                "valid_from": "2026-11-13", "valid_to": "2031-11-12",
            },
        },
    )


@spec
def _license_denial_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block()
        d.salutation()
        d.body("{{ you }}于{{ application.received_on }}提出的{{ application.item }}申请，本机关于"
               "{{ application.accepted_on }}依法受理。" + EXTENSION_LINE + "经审查，{{ decision.reasons }}")
        d.body("根据" + joined("decision.legal_basis") + "的规定，本机关决定不予行政许可。")
        excluded_periods(d)
        d.body("{{ remedy_clause }}")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "license_denial_decision", "不予行政许可决定书", "license", "不许字", "license", layout,
        props={"party": use("party", []),
               "application": use("application", ["item", "received_on", "accepted_on"]),
               "decision": use("decision", ["date", "reasons", "legal_basis"]),
               "extension": use("extension", ["reason", "approved_on"]),
               "excluded_periods": use("excluded_periods")},
        required=["party", "application", "decision"],
        deadlines=["publication_decision"], remedy=True,
        example={
            "party": COMPANY,
            "application": LICENSE_APPLICATION,
            "decision": {
                "date": "2026-11-13",
                "reasons": "你单位经营场所未设置专用的餐用具清洗消毒设施，冷食类食品加工专间"
                           "未配备独立的空气消毒和温度控制设施，不符合法定的食品经营许可条件。",
                "legal_basis": ["《中华人民共和国食品安全法》第三十三条第一款",
                                "《中华人民共和国行政许可法》第三十八条第二款"],
            },
        },
    )
