"""Penalty / general flow (行政处罚): the twelve document types."""
from __future__ import annotations

from tools.templates.blocks import (ADDRESS_LABEL, HANDLER_LINES, HANDLERS_INLINE, PENALTY_TEXT, TR, Doc, L, P, Row,
                                    V, joined, sig_cell)
from tools.templates.spec import (FINE, HANDLERS, PENALTY_BASIS, PENALTY_CASE, PENALTY_EVIDENCE, PENALTY_FACTS,
                                  REGISTRATION_ARTICLES, TRADER, Spec, spec)
from tools.templates.vocabulary import (DEFS, SHORT, TEXT, array, boolean, clock, date, obj, string, text,
                                        use)

# label, value, label, value: 156 mm; a label column holds six 小四 characters on one line
FORM_WIDTHS = [30, 48, 30, 48]


def opinion_row(label: str, signer: str, height: float, first: str = "") -> Row:
    """An opinion cell (承办人意见/审核意见/审批意见) with signature and date."""
    return Row([L(label), V([P(first), P(""), sig_cell(signer)], 3)], height)


def party_rows() -> list:
    """The party's rows of a form: the identity cells that apply to its kind."""
    return [
        [L("当事人"), V("{{ party.name }}", 3)],
        TR("if party.kind == 'organization'"),
        [L("统一社会\n信用代码"), V("{{ party.credit_code }}", 3)],
        [L("法定代表人\n（负责人）"), V("{{ party.legal_representative }}", 3)],
        TR("else"),
        [L("身份证件\n号码"), V("{% if party.id_number %}{{ party.id_type }} {{ party.id_number }}{% endif %}", 3)],
        TR("endif"),
    ]


def evidence_list(d: Doc, path: str = "evidence") -> None:
    d.tag(f"for e in {path}")
    d.body("{{ loop.index }}. {{ e }}")
    d.tag("endfor")


def penalty_list(d: Doc) -> None:
    d.tag("for p in decision.penalties")
    d.body("{{ loop.index }}. " + PENALTY_TEXT)
    d.tag("endfor")


@spec
def _case_filing_form() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.form(FORM_WIDTHS, [
            [L("案件来源"), V("{{ case.source }}"), L("线索受理日期"), V("{{ filing.received_on }}")],
            [L("案由"), V("{{ case.cause }}", 3)],
            *party_rows(),
            [L(ADDRESS_LABEL), V("{{ party.address }}"), L("联系电话"), V("{{ party.phone }}")],
            Row([L("简要案情"), V("{{ filing.summary }}", 3)], 24),
            [L("涉嫌违反\n的规定"), V(joined("filing.suspected_violations"), 3)],
            opinion_row("承办人意见", "承办人签名", 18, "{{ filing.handler_opinion }}"),
            opinion_row("审核意见", "审核人签名", 17),
            opinion_row("审批意见", "审批人签名", 17),
            [L("承办人"), V(HANDLER_LINES, 3)],
            [L("立案日期"), V("{{ case.filed_on }}"), L("办案期限"), V("{{ deadlines.penalty_decision }}前")],
        ])
        d.verify(space=False)

    return Spec(
        "case_filing_form", "立案审批表", "penalty", "立字", "none", layout,
        props={"case": use("case", ["cause", "filed_on", "source"]), "party": use("party", []),
               "filing": obj({"received_on": date("线索受理日期"),
                              "summary": text("简要案情：立案时掌握的涉嫌违法的情况（尚未查明）"),
                              "suspected_violations": array(string("涉嫌违反的条款", 200), "涉嫌违反的规定"),
                              "handler_opinion": string("承办人意见（如：建议立案调查）", 1000)},
                             ["summary", "handler_opinion"], "立案"),
               "handlers": use("handlers")},
        required=["case", "party", "filing", "handlers"],
        deadlines=["penalty_decision"],
        example={
            "issued_on": "2026-09-03",
            "case": PENALTY_CASE,
            "party": TRADER,
            "filing": {"received_on": "2026-09-01",
                       "summary": "2026年9月1日，执法人员在日常监督检查中发现，鞍山示例商贸有限公司营业执照"
                                  "登记的住所为鞍山市铁西区人民路示例号，实际经营地可能已迁至鞍山市铁西区"
                                  "建设大道示例号，该公司涉嫌未在法定期限内申请住所变更登记。",
                       "suspected_violations": REGISTRATION_ARTICLES,
                       "handler_opinion": "当事人涉嫌未依法办理住所变更登记，建议立案调查。"},
            "handlers": HANDLERS,
        },
    )


INTERVIEWEE = obj({
    "name": string("被询问人姓名"),
    "gender": {"type": "string", "enum": ["男", "女"], "description": "性别"},
    "age": {"type": "integer", "minimum": 0, "maximum": 150, "description": "年龄"},
    "id_number": DEFS["party"]["properties"]["id_number"],
    "work": string("工作单位及职务", 200),
    "address": string("住址", 200),
    "phone": DEFS["party"]["properties"]["phone"],
    "relation": string("与本案关系（如：当事人的法定代表人、证人）", SHORT),
}, ["name", "relation"], "被询问人")


@spec
def _inquiry_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.field("询问时间", "{{ inquiry.date }} {{ inquiry.started_at }} 至 {{ inquiry.ended_at }}")
        d.field("询问地点", "{{ inquiry.place }}")
        d.field("询问人", HANDLERS_INLINE)
        d.field("记录人", "{{ inquiry.recorder }}", when="inquiry.recorder")
        d.field("被询问人", "{{ interviewee.name }}{% if interviewee.gender %}　性别：{{ interviewee.gender }}"
                "{% endif %}{% if interviewee.age is defined %}　年龄：{{ interviewee.age }}{% endif %}")
        d.field("身份证件号码", "{{ interviewee.id_number }}", when="interviewee.id_number")
        d.field("工作单位及职务", "{{ interviewee.work }}", when="interviewee.work")
        d.field("住址", "{{ interviewee.address }}", when="interviewee.address")
        d.field("联系电话", "{{ interviewee.phone }}", when="interviewee.phone")
        d.field("与本案关系", "{{ interviewee.relation }}")
        d.field("案由", "{{ party.name }}{{ case.cause }}案")
        d.party_id_line()
        d.body("告知：我们是{{ signer }}的行政执法人员，已向你出示执法证件。现依法就有关情况向你"
               "进行询问调查，你应当如实回答询问、协助调查。你有权进行陈述和申辩；认为询问人与本案有"
               "直接利害关系或者其他关系可能影响公正执法的，你有权申请回避。是否申请回避，由你在下方"
               "亲笔书写。")
        d.handwriting("被询问人对告知事项的意见（由被询问人本人书写）：", 1)
        d.tag("for item in inquiry.qa")
        d.p("问：{{ item.q }}", style="ZF Plain")
        d.p("答：{{ item.a }}", style="ZF Plain")
        d.tag("endfor")
        d.record_ack("被询问人")
        d.sign("被询问人签名", keep_next=True)
        d.sign("询问人签名", blanks=2, keep_next=True)
        d.sign("记录人签名")
        d.verify()

    inquiry = obj({
        "date": date("询问日期"),
        "started_at": clock("开始时间"),
        "ended_at": clock("结束时间"),
        "place": string("询问地点", 200),
        "recorder": string("记录人"),
        "qa": array(obj({"q": string("问", 2000), "a": string("答（被询问人对事实的回答）", TEXT)},
                        ["q", "a"], "一问一答"), "问答记录", 1, 500),
    }, ["date", "started_at", "ended_at", "place", "qa"], "询问")
    return Spec(
        "inquiry_record", "询问笔录", "penalty", "询字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "interviewee": INTERVIEWEE,
               "inquiry": inquiry, "handlers": use("handlers")},
        required=["case", "party", "interviewee", "inquiry", "handlers"],
        footer_sign=("被询问人签名", "询问人签名"), party_writes=True,
        description="询问当事人或者证人的记录。是否申请回避、核对意见和签名由被询问人本人书写，"
                    "数据中的问答只记录事实。",
        example={
            "issued_on": "2026-09-08",
            "case": PENALTY_CASE, "party": TRADER,
            "interviewee": {"name": "李华", "gender": "男", "age": 46,
                            "id_number": "210303198003150019", "work": "鞍山示例商贸有限公司 执行董事",
                            "address": "辽宁省鞍山市铁西区示例小区3号楼", "phone": "13904120000",
                            "relation": "当事人的法定代表人"},
            "inquiry": {
                "date": "2026-09-08", "started_at": "09:30", "ended_at": "10:20",
                "place": "鞍山市营商环境建设局询问室", "recorder": "刘洋",
                "qa": [
                    {"q": "请介绍一下你公司的基本情况。",
                     "a": "我公司2019年成立，主要从事日用百货批发零售，我是法定代表人。"},
                    {"q": "你公司目前的实际经营地址在哪里？什么时候搬过去的？",
                     "a": "在铁西区建设大道示例号，2026年6月搬过去的。"},
                    {"q": "搬迁后是否向登记机关申请了住所变更登记？",
                     "a": "没有，当时不清楚需要在三十日内办理变更登记。"},
                ],
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _inspection_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.field("检查（勘验）时间",
                "{{ inspection.date }} {{ inspection.started_at }} 至 {{ inspection.ended_at }}")
        d.field("检查（勘验）地点", "{{ inspection.place }}")
        d.field("检查人员", HANDLERS_INLINE)
        d.field("记录人", "{{ inspection.recorder }}", when="inspection.recorder")
        d.party_block(phone=True)
        d.field("在场人", "{{ inspection.present.name }}{% if inspection.present.relation %}"
                       "（{{ inspection.present.relation }}）{% endif %}"
                       "{% if inspection.present.phone %}　联系电话：{{ inspection.present.phone }}{% endif %}",
                when="inspection.present")
        d.field("案由", "{{ case.cause }}")
        d.body("检查人员已出示执法证件并告知：我们是{{ signer }}的行政执法人员，现依法进行现场检查"
               "（勘验），请予配合。你有权进行陈述和申辩；认为检查人员与本案有直接利害关系或者其他关系"
               "可能影响公正执法的，你有权申请回避。")
        d.p("现场检查（勘验）情况：", style="ZF Plain", keep_next=True)
        d.body("{{ inspection.findings }}")
        d.tag("if evidence")
        d.p("现场制作、提取的证据：", style="ZF Plain", keep_next=True)
        evidence_list(d)
        d.tag("endif")
        d.record_ack("当事人（在场人）")
        d.sign("当事人（在场人）签名", keep_next=True)
        d.sign("检查人员签名", blanks=2, keep_next=True)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "inspection_record", "现场检查（勘验）笔录", "penalty", "检字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "inspection": use("inspection"),
               "evidence": use("evidence", desc="现场制作、提取的证据"), "handlers": use("handlers")},
        required=["case", "party", "inspection", "handlers"],
        footer_sign=("当事人（在场人）签名", "检查人员签名"), party_writes=True,
        description="现场检查（勘验）的记录。当事人（在场人）的核对意见和签名由本人书写。",
        example={
            "issued_on": "2026-09-04",
            "case": PENALTY_CASE, "party": TRADER,
            "inspection": {
                "date": "2026-09-04", "started_at": "14:00", "ended_at": "14:50",
                "place": "辽宁省鞍山市铁西区建设大道示例号",
                "present": {"name": "李华", "relation": "法定代表人", "phone": "13904120000"},
                "recorder": "刘洋",
                "findings": "现场为鞍山示例商贸有限公司经营场所，门头悬挂该公司招牌，店内陈列日用百货商品，"
                            "墙面悬挂营业执照正本，登记住所为鞍山市铁西区人民路示例号，与现场地址不一致。"
                            "经核实，原住所已由其他单位使用。",
            },
            "evidence": ["现场照片6张（门头、经营场所内景、营业执照正本）", "营业执照正本复印件1份"],
            "handlers": HANDLERS,
        },
    )


@spec
def _rectification_order() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(case_number=True)
        d.salutation()
        d.body("经查明：{{ facts }}")
        d.body("{{ you }}的上述行为违反了" + joined("rectification.violated") + "的规定。根据"
               + joined("rectification.legal_basis") + "的规定，本机关责令{{ you }}于"
               "{{ rectification.deadline }}前改正上述违法行为。")
        d.body("改正要求：{{ rectification.requirement }}")
        d.body("逾期不改正的，本机关将依法处理。")
        d.body("{{ remedy_clause }}")
        d.field("执法人员", HANDLERS_INLINE)
        d.contact()
        d.seal()

    return Spec(
        "rectification_order", "责令改正通知书", "penalty", "责改字", "agency", layout,
        props={"case": use("case", []), "party": use("party", []), "facts": use("facts"),
               "rectification": obj({
                   "violated": {**use("provisions"), "description": "违反的法律、法规、规章条款"},
                   "legal_basis": {**use("provisions"), "description": "责令改正的法律依据"},
                   "requirement": string("改正要求", 2000),
                   "deadline": date("改正期限（晚于本通知书的签发日期）"),
               }, ["violated", "legal_basis", "requirement", "deadline"], "责令改正"),
               "handlers": use("handlers")},
        required=["party", "facts", "rectification", "handlers"],
        remedy=True,
        description="责令当事人限期改正违法行为。责令改正本身可以申请行政复议或者提起行政诉讼，故载明救济途径。",
        example={
            "issued_on": "2026-09-04",
            "case": PENALTY_CASE,
            "party": TRADER,
            "facts": "当事人于2026年6月将经营场所由鞍山市铁西区人民路示例号迁至鞍山市铁西区建设大道示例号，"
                     "至今未向登记机关申请住所变更登记。",
            "rectification": {
                "violated": REGISTRATION_ARTICLES,
                "legal_basis": PENALTY_BASIS,
                "requirement": "向登记机关提交住所变更登记申请及新住所使用证明等材料，办理住所变更登记。",
                "deadline": "2026-09-25",
            },
            "handlers": HANDLERS,
        },
    )


@spec
def _penalty_prior_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(case_number=True)
        d.salutation()
        d.body("本机关在办理{{ you }}{{ case.cause }}一案中查明：{{ facts }}")
        d.body("上述事实有下列证据证明：", keep_next=True)
        evidence_list(d)
        d.body("{{ you }}的上述行为违反了" + joined("decision.violated") + "的规定。依据"
               + joined("decision.legal_basis") + "的规定，本机关拟对{{ you }}作出如下行政处罚：")
        penalty_list(d)
        d.body("根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，{{ you }}有权进行陈述和"
               "申辩，可以在本机关作出行政处罚决定前，以书面或者口头形式提出陈述、申辩意见。{{ you }}"
               "提出的事实、理由或者证据成立的，本机关将予以采纳；本机关不因{{ you }}陈述、申辩而给予"
               "更重的处罚。")
        d.tag("if hearing_right")
        d.body("根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，{{ you }}有权要求听证。"
               "要求听证的，应当在收到本告知书之日起五个工作日内向本机关提出（本告知书于签发当日送达的，"
               "截止日期为{{ deadlines.penalty_hearing_request }}）。")
        d.tag("endif")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("当事人陈述、申辩意见（由当事人本人书写）：", 5)
        d.tag("if hearing_right")
        d.handwriting("是否要求听证（由当事人本人书写）：", 2)
        d.tag("endif")
        d.sign("当事人签名（盖章）")

    return Spec(
        "penalty_prior_notice", "行政处罚事先告知书", "penalty", "罚告字", "agency", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "facts": use("facts"),
               "evidence": use("evidence"),
               "decision": use("decision", ["violated", "legal_basis", "penalties"]),
               "hearing_right": boolean("当事人是否享有要求听证的权利（行政处罚法第六十三条）。不填则按拟作出的处罚"
                                        "依法确定；依法享有听证权利的，不得填写 false")},
        required=["case", "party", "facts", "evidence", "decision"],
        deadlines=["penalty_hearing_request"], party_writes=True,
        description="作出行政处罚决定前，告知拟处罚的事实、理由、依据和内容以及陈述、申辩、要求听证的"
                    "权利（行政处罚法第四十四条、第六十三条）。当事人的意见由本人书写，数据中不含该内容。",
        example={
            "issued_on": "2026-10-20",
            "case": PENALTY_CASE, "party": TRADER,
            "facts": PENALTY_FACTS,
            "evidence": PENALTY_EVIDENCE,
            "decision": {"violated": REGISTRATION_ARTICLES, "legal_basis": PENALTY_BASIS, "penalties": FINE},
            "hearing_right": True,
        },
    )


@spec
def _statement_defence_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.field("时间", "{{ statement.date }} {{ statement.started_at or '　　时　　分' }} 至 "
                      "{{ statement.ended_at or '　　时　　分' }}")
        d.field("地点", "{{ statement.place }}")
        d.field("执法人员", HANDLERS_INLINE)
        d.field("记录人", "{{ statement.recorder }}", when="statement.recorder")
        d.party_block(phone=True)
        d.field("陈述申辩人", "{{ representative.name }}（{{ representative.relation }}）"
                           "{% if representative.id_number %}　身份证件号码：{{ representative.id_number }}{% endif %}",
                when="representative")
        d.field("案由", "{{ case.cause }}")
        d.body("执法人员已出示执法证件，并告知当事人拟作出行政处罚的事实、理由、依据和处罚内容，以及依法"
               "享有的陈述、申辩权利。当事人提出的事实、理由或者证据成立的，本机关将予以采纳；本机关不因"
               "当事人陈述、申辩而给予更重的处罚。", keep_next=True)
        d.handwriting("陈述、申辩意见（由当事人本人书写）：", 12)
        d.record_ack("陈述申辩人")
        d.sign("陈述申辩人签名", keep_next=True)
        d.sign("执法人员签名", blanks=2, keep_next=True)
        d.sign("记录人签名")
        d.verify()

    return Spec(
        "statement_defence_record", "陈述申辩笔录", "penalty", "陈申字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []),
               "representative": obj({"name": string("陈述申辩人姓名"),
                                      "relation": string("与当事人关系（如：委托代理人）", SHORT),
                                      "id_number": DEFS["party"]["properties"]["id_number"]},
                                     ["name", "relation"], "代当事人陈述申辩的人（当事人本人到场时不填）"),
               "statement": obj({"date": date("日期"), "started_at": clock("开始时间"),
                                 "ended_at": clock("结束时间"), "place": string("地点", 200),
                                 "recorder": string("记录人")},
                                ["date", "place"], "陈述申辩的时间、地点"),
               "handlers": use("handlers")},
        required=["case", "party", "statement", "handlers"],
        party_writes=True,
        footer_sign=("陈述申辩人签名", "执法人员签名"),
        description="当事人陈述、申辩的记录。陈述、申辩意见和签名由当事人本人书写，数据中不含该内容。",
        example={
            "issued_on": "2026-10-23",
            "case": PENALTY_CASE, "party": TRADER,
            "statement": {"date": "2026-10-23", "started_at": "10:00", "place": "鞍山市营商环境建设局询问室",
                          "recorder": "刘洋"},
            "handlers": HANDLERS,
        },
    )


@spec
def _hearing_notice() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(case_number=True)
        d.salutation()
        d.body("{{ you }}{% if hearing.requested_on %}于{{ hearing.requested_on }}{% endif %}提出的听证"
               "申请收悉。根据《中华人民共和国行政处罚法》第六十四条的规定，本机关决定就{{ case.cause }}"
               "一案于{{ hearing.date }}{{ hearing.time }}在{{ hearing.place }}"
               "{% if hearing.public %}公开{% else %}不公开{% endif %}举行听证。")
        d.body("听证主持人：{{ hearing.host }}{% if hearing.clerk %}；记录人：{{ hearing.clerk }}{% endif %}。")
        d.body("{{ you }}认为主持人与本案有直接利害关系的，有权申请回避。{{ you }}可以亲自参加听证，也可以"
               "委托一至二人代理；委托代理人参加听证的，应当提交载明委托事项及权限的授权委托书。请携带"
               "身份证明和有关证据材料按时参加听证。")
        d.body("{{ you }}及其代理人无正当理由拒不出席听证或者未经许可中途退出听证的，本机关将终止听证。")
        d.contact()
        d.seal()
        d.blank()  # the party's part starts below the seal
        d.handwriting("当事人意见（由当事人本人书写，如是否按时参加听证、是否申请主持人回避及理由）：", 3)
        d.sign("当事人签名（盖章）")

    return Spec(
        "hearing_notice", "听证通知书", "penalty", "听通字", "agency", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []),
               "hearing": obj({"date": date("听证日期"), "time": clock("听证开始时间"),
                               "place": string("听证地点", 200), "host": string("听证主持人"),
                               "clerk": string("听证记录人"),
                               "public": boolean("是否公开举行（涉及国家秘密、商业秘密或者个人隐私的不公开）"),
                               "requested_on": date("当事人申请听证日期")},
                              ["date", "time", "place", "host", "public"], "听证")},
        required=["case", "party", "hearing"],
        deadlines=["hearing_notice_lead"], party_writes=True,
        description="举行听证的七日前通知当事人听证的时间、地点（行政处罚法第六十四条）。"
                    "当事人的意见由本人书写，数据中不含该内容。",
        example={
            "issued_on": "2026-10-26",
            "case": PENALTY_CASE, "party": TRADER,
            "hearing": {"date": "2026-11-05", "time": "09:00",
                        "place": "鞍山市营商环境建设局听证室", "host": "陈静", "clerk": "周敏",
                        "public": True, "requested_on": "2026-10-23"},
        },
    )


HEARING_HELD = obj({
    "date": date("听证日期"), "started_at": clock("开始时间"), "ended_at": clock("结束时间"),
    "place": string("听证地点", 200), "host": string("听证主持人"), "clerk": string("听证记录人"),
    "public": boolean("是否公开举行"),
}, ["date", "started_at", "place", "host", "clerk", "public"], "听证")
HEARING_ATTENDEE = obj({
    "name": string("姓名"),
    "role": string("身份（如：法定代表人、委托代理人）", SHORT),
    "work": string("工作单位及职务", 200),
}, ["name", "role"], "当事人一方出席听证的人员")
HEARING_CASE_EXAMPLE = {"date": "2026-11-05", "started_at": "09:00", "ended_at": "10:30",
                        "place": "鞍山市营商环境建设局听证室", "host": "陈静", "clerk": "周敏", "public": True}


@spec
def _hearing_record() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.field("案由", "{{ party.name }}{{ case.cause }}案")
        d.field("听证时间", "{{ hearing.date }} {{ hearing.started_at }} 至 {{ hearing.ended_at or '　　时　　分' }}")
        d.field("听证地点", "{{ hearing.place }}")
        d.field("听证方式", "{% if hearing.public %}公开{% else %}不公开{% endif %}")
        d.party_block()
        d.tag("for a in attendees")
        d.field("{{ a.role }}", "{{ a.name }}{% if a.work %}（{{ a.work }}）{% endif %}")
        d.tag("endfor")
        d.field("案件调查人员", HANDLERS_INLINE)
        d.field("听证主持人", "{{ hearing.host }}")
        d.field("听证记录人", "{{ hearing.clerk }}")
        d.body("主持人宣布听证纪律，核对听证参加人身份，告知当事人依法享有的权利：申请主持人、记录人回避；"
               "进行陈述、申辩和质证；听证结束前作最后陈述；核对听证笔录。", keep_next=True)
        d.handwriting("当事人（代理人）对是否申请回避的意见（由当事人或者代理人本人书写）：", 2)
        d.p("听证过程：", style="ZF Plain", keep_next=True)
        d.tag("for item in proceedings")
        d.p("{{ item.speaker }}：{{ item.words }}", style="ZF Plain")
        d.tag("endfor")
        d.handwriting("当事人（代理人）最后陈述（由当事人或者代理人本人书写）：", 4)
        d.record_ack("当事人（代理人）")
        d.body("当事人或者其代理人拒绝签字或者盖章的，由听证主持人在笔录中注明（《中华人民共和国行政处罚法》"
               "第六十四条第（八）项）。", keep_next=True)
        d.sign("当事人（代理人）签名", keep_next=True)
        d.sign("案件调查人员签名", blanks=2, keep_next=True)
        d.sign("听证主持人签名", keep_next=True)
        d.sign("听证记录人签名")
        d.verify()

    return Spec(
        "hearing_record", "听证笔录", "penalty", "听笔字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "hearing": HEARING_HELD,
               "attendees": array(HEARING_ATTENDEE, "当事人一方出席听证的人员（法定代表人、委托代理人等）", 1, 10),
               "handlers": use("handlers"),
               "proceedings": array(obj({"speaker": string("发言人（如：主持人、调查人员张伟、当事人委托代理人）"),
                                         "words": string("发言内容", TEXT)}, ["speaker", "words"], "一段发言"),
                                    "听证过程（调查人员提出事实、证据和处罚建议，当事人陈述、申辩和质证）", 1, 500)},
        required=["case", "party", "hearing", "handlers", "proceedings"],
        footer_sign=("当事人（代理人）签名", "听证主持人签名"), party_writes=True,
        description="听证的记录（行政处罚法第六十四条第（八）项）：交当事人或者其代理人核对无误后签字或者盖章。"
                    "是否申请回避、最后陈述和核对意见由当事人或者代理人本人书写，数据中不含该内容。",
        example={
            "issued_on": "2026-11-05",
            "case": PENALTY_CASE, "party": TRADER,
            "hearing": HEARING_CASE_EXAMPLE,
            "attendees": [{"name": "孙明", "role": "委托代理人", "work": "辽宁示例律师事务所 律师"}],
            "handlers": HANDLERS,
            "proceedings": [
                {"speaker": "调查人员张伟",
                 "words": "当事人于2026年6月将住所迁至鞍山市铁西区建设大道示例号，未申请住所变更登记，经责令改正"
                          "逾期仍未改正。证据有现场检查（勘验）笔录、询问笔录、责令改正通知书及送达回证、现场照片。"
                          "建议依据《中华人民共和国市场主体登记管理条例》第四十六条处罚款人民币贰万元整。"},
                {"speaker": "当事人委托代理人孙明",
                 "words": "对搬迁的事实没有争议。当事人不了解变更登记的期限，搬迁后一直正常经营，请求从轻处罚。"},
                {"speaker": "调查人员张伟", "words": "当事人经责令改正后仍未改正，不属于可以从轻的情形。"},
            ],
        },
    )


@spec
def _hearing_report() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.field("案件名称", "{{ party.name }}{{ case.cause }}案")
        d.party_id_line()
        d.field("听证时间", "{{ hearing.date }} {{ hearing.started_at }}")
        d.field("听证地点", "{{ hearing.place }}")
        d.field("听证方式", "{% if hearing.public %}公开{% else %}不公开{% endif %}")
        d.field("听证主持人", "{{ hearing.host }}")
        d.field("听证记录人", "{{ hearing.clerk }}")
        d.h1("一、案件调查人员提出的事实、证据和处罚建议")
        d.body("{{ report.investigation }}")
        d.h1("二、当事人的陈述、申辩和质证意见")
        d.body("{{ report.party_opinion }}")
        d.h1("三、听证认定的事实和证据")
        d.body("{{ report.findings }}")
        d.h1("四、听证主持人的处理意见和建议")
        d.body("{{ report.opinion }}", keep_next=True)
        d.body("依照《中华人民共和国行政处罚法》第六十五条的规定，本机关应当根据听证笔录，依照该法第五十七条的规定"
               "作出决定。")
        d.keep_with_signature()
        d.sign("听证主持人签名", keep_next=True)
        d.sign("听证记录人签名", keep_next=True)
        d.p("本机关负责人审批意见：", style="ZF Plain", keep_next=True)
        d.blank(2)
        d.sign("负责人签名")
        d.verify()

    return Spec(
        "hearing_report", "听证报告", "penalty", "听报字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "hearing": HEARING_HELD,
               "report": obj({"investigation": text("案件调查人员提出的违法事实、证据、处罚依据和处罚建议"),
                              "party_opinion": text("当事人及其代理人的陈述、申辩和质证意见（依据听证笔录概括）"),
                              "findings": text("经听证认定的事实和证据"),
                              "opinion": text("听证主持人对案件的处理意见和建议")},
                             ["investigation", "party_opinion", "findings", "opinion"], "听证报告")},
        required=["case", "party", "hearing", "report"],
        description="听证结束后，听证主持人根据听证笔录向本机关负责人提出的报告（行政处罚法第六十五条）。"
                    "内部文书，当事人的意见以听证笔录为准。",
        example={
            "issued_on": "2026-11-06",
            "case": PENALTY_CASE, "party": TRADER,
            "hearing": HEARING_CASE_EXAMPLE,
            "report": {
                "investigation": "当事人住所变更后未申请变更登记，经责令改正逾期仍未改正，违反《中华人民共和国市场"
                                 "主体登记管理条例》第二十四条第一款，建议依据该条例第四十六条处罚款人民币贰万元整。",
                "party_opinion": "当事人对搬迁及未办理变更登记的事实无争议，提出不了解变更登记期限、搬迁后正常经营，"
                                 "请求从轻处罚。",
                "findings": "当事人于2026年6月搬迁住所，至听证之日仍未申请变更登记；经责令改正逾期未改正。"
                            "现场检查（勘验）笔录、询问笔录、责令改正通知书及送达回证、现场照片相互印证。",
                "opinion": "当事人提出的理由不能免除法定义务，也不属于从轻处罚情形，建议维持拟作出的处罚，"
                           "提交法制审核。",
            },
        },
    )


ASPECTS = [("subject", "（一）执法主体", "执法主体是否合法"),
           ("authority", "（二）执法权限", "是否超越法定权限"),
           ("facts", "（三）案件事实", "案件事实是否清楚"),
           ("evidence", "（四）证据", "证据是否确实充分"),
           ("procedure", "（五）执法程序", "程序是否合法"),
           ("legal_basis", "（六）适用依据", "适用法律依据是否正确"),
           ("discretion", "（七）裁量基准", "自由裁量是否适当")]


@spec
def _legal_review_opinion() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.field("送审机构", "{{ review.submitted_by }}")
        d.field("送审日期", "{{ review.submitted_on }}")
        d.field("案件名称", "{{ party.name }}{{ case.cause }}案")
        d.field("案号", "{{ case.number }}", when="case.number")
        d.party_id_line()
        d.h1("一、拟作出的行政执法决定")
        d.body("{{ review.proposed_decision }}")
        d.h1("二、审核情况")
        for key, heading, _ in ASPECTS:
            d.h2(heading)
            d.body("{{ review.findings.%s }}" % key)
        d.h1("三、审核意见")
        d.body("{{ review.opinion }}", keep_next=True)
        d.field("法制审核人员", HANDLERS_INLINE.replace("handlers", "review.reviewers"))
        d.field("审核日期", "{{ review.reviewed_on }}")
        d.keep_with_signature()
        d.sign("法制审核人员签名", blanks=2, date=False, keep_next=True)
        d.sign("法制审核机构负责人签名")
        d.verify()

    review = obj({
        "submitted_by": string("送审机构（承办科室）"),
        "submitted_on": date("送审日期"),
        "proposed_decision": text("拟作出的行政执法决定"),
        "findings": obj({key: text(desc) for key, _, desc in ASPECTS},
                        [key for key, _, _ in ASPECTS], "逐项审核情况（其中 facts 为对查明事实的审核意见）"),
        "opinion": text("审核意见（同意、修改后同意或者不同意及理由）"),
        "reviewers": array(use("handler"), "法制审核人员", 1, 10),
        "reviewed_on": date("审核日期"),
    }, ["submitted_by", "submitted_on", "proposed_decision", "findings", "opinion", "reviewers",
        "reviewed_on"], "法制审核")
    return Spec(
        "legal_review_opinion", "重大行政执法决定法制审核意见书", "penalty", "法审字", "none", layout,
        props={"case": use("case", ["cause"]), "party": use("party", []), "review": review},
        required=["case", "party", "review"],
        example={
            "issued_on": "2026-11-10",
            "case": PENALTY_CASE, "party": TRADER,
            "review": {
                "submitted_by": "行政审批一科", "submitted_on": "2026-11-06",
                "proposed_decision": "对鞍山示例商贸有限公司处以罚款人民币贰万元整（¥20,000.00）。",
                "findings": {
                    "subject": "本机关为市场主体登记机关，执法主体合法。",
                    "authority": "拟作出的处罚属于本机关法定职权范围，未超越权限。",
                    "facts": "当事人住所变更后未申请变更登记，经责令改正逾期仍未改正，事实清楚。",
                    "evidence": "现场检查（勘验）笔录、询问笔录、责令改正通知书及送达回证、现场照片等证据"
                                "相互印证，证据确实充分。",
                    "procedure": "已依法立案、调查取证、责令改正、事先告知，当事人申请听证并已举行听证，"
                                 "程序合法。",
                    "legal_basis": "适用《中华人民共和国市场主体登记管理条例》第二十四条第一款、第四十六条，"
                                   "依据正确。",
                    "discretion": "当事人经责令改正后拒不改正，但无其他从重情节，拟处罚款2万元，符合裁量基准。",
                },
                "opinion": "同意承办机构意见。",
                "reviewers": [{"name": "陈静", "certificate_number": "21030012350"},
                              {"name": "周敏", "certificate_number": "21030012351"}],
                "reviewed_on": "2026-11-10",
            },
        },
    )


@spec
def _penalty_decision() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(case_number=True)
        d.party_block()
        d.body("本机关于{{ case.filed_on }}对{{ you }}{{ case.cause }}一案立案调查。"
               "{% if extension %}因{{ extension.reason }}，依据{{ extension.provision }}的规定，经本机关负责人"
               "{{ extension.approved_by }}于{{ extension.approved_on }}批准"
               "{% if extension.collective_decision_on %}并经本机关负责人于{{ extension.collective_decision_on }}"
               "集体讨论决定{% endif %}，办案期限延长至{{ extension.until }}。"
               "{% endif %}经查明：{{ facts }}")
        d.body("上述事实有下列证据证明：", keep_next=True)
        evidence_list(d)
        d.tag("if defence_summary")
        d.body("{{ defence_summary }}")
        d.tag("endif")
        d.body("本机关认为，{{ you }}的上述行为违反了" + joined("decision.violated") + "的规定。"
               "{% if decision.reasons %}{{ decision.reasons }}{% endif %}")
        d.body("依据" + joined("decision.legal_basis") + "的规定，本机关决定对{{ you }}作出如下行政处罚：")
        penalty_list(d)
        d.body("履行方式和期限：{{ decision.performance }}")
        d.tag("if decision.penalties|selectattr('amount_yuan')|list")
        d.body("罚款应当自收到本决定书之日起十五日内缴纳（本决定书于签发当日送达的，截止日期为"
               "{{ deadlines.penalty_fine_payment }}）。到期不缴纳罚款的，本机关可以每日按罚款数额的"
               "百分之三加处罚款，加处罚款的数额不超出罚款的数额。")
        d.tag("endif")
        d.body("{{ remedy_clause }}")
        d.tag("if not warning_only")   # a warning leaves nothing to enforce
        d.body("{{ you }}在法定期限内不申请行政复议或者提起行政诉讼，又不履行本决定的，本机关将依法申请"
               "人民法院强制执行。")
        d.tag("endif")
        d.contact()
        d.seal("{{ decision.date }}")

    return Spec(
        "penalty_decision", "行政处罚决定书", "penalty", "罚决字", "agency", layout,
        props={"case": use("case", ["cause", "filed_on"]), "party": use("party", ["address"]),
               "facts": use("facts"), "evidence": use("evidence"),
               "defence_summary": text("告知、陈述申辩和听证情况及采纳意见"),
               "decision": use("decision", ["date", "violated", "legal_basis", "penalties", "performance"]),
               "extension": use("extension", ["reason", "approved_on", "approved_by", "until", "provision"])},
        required=["case", "party", "facts", "evidence", "decision"],
        deadlines=["penalty_fine_payment", "publication_decision"], remedy=True,
        description="行政处罚决定书，载明行政处罚法第五十九条规定的事项",
        example={
            "case": PENALTY_CASE, "party": TRADER,
            "facts": PENALTY_FACTS,
            "evidence": PENALTY_EVIDENCE,
            "defence_summary": "本机关于2026年10月20日向当事人送达《行政处罚事先告知书》，当事人提出"
                               "陈述、申辩并要求听证，本机关于2026年11月5日举行听证。当事人提出的"
                               "“不了解变更登记期限”的理由不能免除法定义务，本机关不予采纳。",
            "decision": {
                "date": "2026-11-16",
                "violated": REGISTRATION_ARTICLES,
                "reasons": "当事人经责令改正后逾期仍未改正，但无其他从重处罚情节，依法在法定幅度内处罚。",
                "legal_basis": PENALTY_BASIS,
                "penalties": FINE,
                "performance": "请持本决定书到指定代收银行缴纳罚款，或者通过辽宁省非税收入缴款平台缴纳。",
            },
        },
    )


@spec
def _case_closing_form() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False)
        d.form(FORM_WIDTHS, [
            [L("案号"), V("{{ case.number }}"), L("立案日期"), V("{{ case.filed_on }}")],
            [L("案由"), V("{{ case.cause }}", 3)],
            *party_rows(),
            [L("处罚决定书\n文号"), V("{{ decision.number }}", 3)],
            [L("决定日期"), V("{{ decision.date }}", 3)],
            [L("处罚内容"),
             V("{% for p in decision.penalties %}" + PENALTY_TEXT + "{% if not loop.last %}；{% endif %}"
               "{% endfor %}", 3)],
            Row([L("执行情况"), V("{{ closing.execution }}", 3)], 18),
            [L("结案理由"), V("{{ closing.reason }}", 3)],
            opinion_row("承办人意见", "承办人签名", 20, "{{ closing.handler_opinion }}"),
            opinion_row("审核意见", "审核人签名", 18),
            opinion_row("审批意见", "审批人签名", 18),
            [L("承办人"), V(HANDLER_LINES, 3)],
        ])
        d.verify(space=False)

    return Spec(
        "case_closing_form", "结案审批表", "penalty", "结字", "none", layout,
        props={"case": use("case", ["number", "cause", "filed_on"]), "party": use("party", []),
               "decision": use("decision", ["number", "date"]),
               "closing": obj({"execution": string("执行情况", 2000),
                               "reason": string("结案理由（如：处罚决定已执行完毕）", 1000),
                               "handler_opinion": string("承办人意见", 1000)},
                              ["execution", "reason", "handler_opinion"], "结案"),
               "handlers": use("handlers")},
        required=["case", "party", "decision", "closing", "handlers"],
        example={
            "issued_on": "2026-11-27",
            "case": PENALTY_CASE, "party": TRADER,
            "decision": {"number": "鞍审批罚决字〔2026〕3号", "date": "2026-11-16", "penalties": FINE},
            "closing": {"execution": "当事人已于2026年11月20日办理住所变更登记，并于2026年11月25日缴纳"
                                     "罚款人民币贰万元整（¥20,000.00）。",
                        "reason": "行政处罚决定已执行完毕。",
                        "handler_opinion": "处罚决定已执行完毕，建议结案。"},
            "handlers": HANDLERS,
        },
    )

