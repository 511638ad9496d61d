"""The redactor's data types: spans in the original text, the redacted result,
the context a decision gives (who is the party, which values are public)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from html import escape

RULES = {
    "id_number": "身份证号码",
    "mobile": "手机号码",
    "landline": "固定电话",
    "bank_card": "银行卡号",
    "bank_account": "银行账号",
    "email": "电子邮箱",
    "plate": "机动车号牌",
    "address": "住址",
    "person_name": "自然人姓名",
    "im_account": "即时通讯账号",
    "birth_date": "出生日期",
    "age": "年龄",
    "health": "健康信息",
    "disability_card": "残疾人证号",
}


def hidden(rule: str) -> str:
    return f"【{RULES[rule]}已隐去】"


# Any marker this redactor writes (and the older ones): never read again.
MARKER = re.compile("【(?:" + "|".join(sorted(set(RULES.values()), key=len, reverse=True)) + ")已隐去】")


@dataclass(frozen=True)
class Span:
    start: int          # in the original text
    end: int
    rule: str           # a key of RULES
    replacement: str

    @property
    def label(self) -> str:
        return RULES[self.rule]


@dataclass(frozen=True)
class Redacted:
    original_length: int
    text: str
    spans: tuple[Span, ...]

    def marked_html(self, original: str) -> str:
        """The redacted text with each hidden span as <mark data-rule=…>, escaped
        elsewhere: what the preview page shows a publisher."""
        out, at = [], 0
        for s in self.spans:
            out.append(escape(original[at:s.start]))
            out.append(f'<mark class="redacted" data-rule="{s.rule}" title="{escape(s.label)}">'
                       f'{escape(s.replacement)}</mark>')
            at = s.end
        out.append(escape(original[at:]))
        return "".join(out)


@dataclass
class Context:
    """What the text is about: the party stays visible; other persons do not."""
    party_name: str = ""
    party_is_person: bool = False
    visible_names: tuple[str, ...] = ()          # e.g. an organisation's legal representative
    hidden_names: tuple[str, ...] = ()           # persons named in structured data (handlers, witnesses)
    hidden_addresses: tuple[str, ...] = ()       # a person party's address
    kept_values: tuple[str, ...] = ()            # public values: agency credit code and phone, licence numbers
    decided_on: date | None = None
