"""Common documents: the service receipt (送达回证)."""
from __future__ import annotations

from tools.templates.blocks import HANDLER_LINES, Doc, L, P, Row, V, date_line
from tools.templates.spec import HANDLERS, PENALTY_CASE, TRADER, Spec, spec
from tools.templates.vocabulary import SHORT, array, obj, string, use

SERVICE_METHODS = ["直接送达", "留置送达", "委托送达", "邮寄送达", "转交送达", "电子送达", "公告送达"]


@spec
def _service_receipt() -> Spec:
    def layout(d: Doc) -> None:
        d.heading_block(you=False, case_number=True)
        d.form([40, 116], [
            # the generator fills the title from its registry when the number is its own
            [L("送达文书名称"), V("{{ service.document_title }}")],
            [L("送达文书文号"), V("{{ service.document_number }}")],
            [L("受送达人"), V("{{ party.name }}{% if party.kind == 'organization' and party.legal_representative %}"
                              "（法定代表人（负责人）：{{ party.legal_representative }}）{% endif %}")],
            [L("送达地点"), V("{{ service.place }}")],
            [L("送达方式"), V("{{ service.method }}")],
            Row([L("受送达人\n签名或者盖章"), V([P(""), P(""), date_line()])], 24),
            Row([L("代收人签名\n及代收理由"), V([P(""), date_line()])], 20),
            Row([L("见证人签名\n（留置送达时）"), V([P(""), date_line()])], 18),
            [L("送达人"), V(HANDLER_LINES)],
            Row([L("送达人签名"), V([P(""), date_line()])], 20),
            Row([L("备注"), V("{{ service.note }}")], 12),
        ])
        d.seal()

    return Spec(
        "service_receipt", "送达回证", "common", "送字", "agency", layout,
        props={"case": use("case", []), "party": use("party", [], desc="受送达人"),
               "service": obj({
                   "document_title": string("送达文书名称（本系统生成的文书可不填，按文号自动填写）"),
                   "document_number": string("送达文书文号", SHORT),
                   "method": {"type": "string", "description": "送达方式", "enum": SERVICE_METHODS},
                   "place": string("送达地点", 200),
                   "note": string("备注", 1000),
               }, ["document_number", "method", "place"], "送达"),
               "handlers": array(use("handler"), "送达人", 1, 10)},
        required=["party", "service", "handlers"],
        party_writes=True,
        description="送达文书的回执。受送达人、代收人、见证人的签名和日期由其本人书写。",
        example={
            "issued_on": "2026-11-17",
            "case": PENALTY_CASE,
            "party": TRADER,
            "service": {"document_title": "行政处罚决定书", "document_number": "鞍审批罚决字〔2026〕3号",
                        "method": "直接送达", "place": "辽宁省鞍山市铁西区建设大道示例号"},
            "handlers": HANDLERS,
        },
    )
