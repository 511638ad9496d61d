"""不予受理 under 行政许可法 art. 32(一)(二): the applicant is told where to apply, and the refusal is 即时."""
from __future__ import annotations

import pytest

from services.generator.rules import non_acceptance_grounds
from tests.generator.test_api import assert_problem, docx_text, example, post


def refusal(basis: str, refer_to: str | None = None, issued_on: str = "2026-10-12") -> dict:
    data = example("license_non_acceptance_decision", issued_on=issued_on)
    data["decision"]["legal_basis"] = [basis]
    data["decision"].pop("refer_to", None)
    if refer_to:
        data["decision"]["refer_to"] = refer_to
    return data


OUTSIDE_COMPETENCE = [
    "《中华人民共和国行政许可法》第三十二条第一款第（二）项",
    "《行政许可法》第三十二条第(二)项",
    "《中华人民共和国行政许可法》第32条第1款第2项",
    "《中华人民共和国行政许可法》第三十二条第一款第二项",
    "《中华人民共和国行政许可法》 第 三十二 条 第一款 第（二）项",
    "《中华人民共和国行政许可法》第３２条第１款第２项",   # full-width digits
]


@pytest.mark.parametrize("basis", OUTSIDE_COMPETENCE)
def test_outside_competence_must_name_the_body_to_apply_to(sqlite_generator, basis):
    _, client = sqlite_generator
    assert non_acceptance_grounds({"decision": {"legal_basis": [basis]}}) == {2}
    body = assert_problem(post(client, {"type": "license_non_acceptance_decision", "formats": ["docx"],
                                        "data": refusal(basis)}), 422, "data/decision/refer_to")
    assert "第三十二条" in body["errors"][0]["message"]
    made = post(client, {"type": "license_non_acceptance_decision", "formats": ["docx"],
                         "data": refusal(basis, "海城市行政审批局")})
    assert made.status_code == 201, made.get_json()
    assert not [w for w in made.get_json()["warnings"] if w["code"] != "registered-after-the-fact"]
    assert "向海城市行政审批局提出申请" in docx_text(client, made.get_json()["id"])


@pytest.mark.parametrize("basis", [
    "《中华人民共和国行政许可法》第三十二条第一款第（一）项",   # needs no licence: nobody to refer to
    "《中华人民共和国行政许可法》第三十二条第一款第（五）项",
    "《中华人民共和国行政许可法》第十二条第（二）项",
    "《辽宁省某条例》第三十二条第（二）项",
])
def test_other_grounds_need_no_referral(sqlite_generator, basis):
    _, client = sqlite_generator
    made = post(client, {"type": "license_non_acceptance_decision", "formats": ["docx"], "data": refusal(basis)})
    assert made.status_code == 201, made.get_json()


@pytest.mark.parametrize("basis, item", [(OUTSIDE_COMPETENCE[0], "（二）"),
                                         ("《中华人民共和国行政许可法》第三十二条第一款第（一）项", "（一）")])
def test_a_refusal_not_made_on_receipt_is_flagged(sqlite_generator, basis, item):
    _, client = sqlite_generator
    late = post(client, {"type": "license_non_acceptance_decision", "formats": ["docx"],
                         "data": refusal(basis, "海城市行政审批局", issued_on="2026-10-14")})
    assert late.status_code == 201, late.get_json()
    warnings = [w for w in late.get_json()["warnings"] if w["code"] != "registered-after-the-fact"]
    assert [w["code"] for w in warnings] == ["non-acceptance-not-immediate"]
    assert warnings[0]["path"] == "data/issued_on" and item in warnings[0]["message"]
    assert "即时" in warnings[0]["message"]
