"""The archivists' rules: 一案一卷 (each item's party, case number and date
against the file's), required documents per flow (variant), 立卷人 and
检查人 before sealing, 密级 and 立卷单位 on the cover."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.archive.binding import BindingRules
from services.archive.case_files import _norm_number, same_party
from tests.archive import samples
from tests.archive.conftest import LICENSE_CASE, download_sealed, open_case, upload
from tests.archive.test_flow import page_text
from tests.archive.test_sessions import make_app
from tests.conftest import auth

ARCHIVIST = auth("archivist")
RULES = BindingRules.load()
OTHER_PERSON = {"kind": "person", "name": "张三", "id_type": "居民身份证", "id_number": "210302199001011234"}
TRADER = {"kind": "organization", "name": "鞍山示例商贸有限公司", "credit_code": "91210303MA0U7F2N4K"}


# --- pure rules ---------------------------------------------------------------

def required_of(case_type: str, *types: str, chosen: str | None = None) -> set:
    return set(RULES.get(case_type).for_file(types, chosen).required)


def test_each_flow_requires_its_own_documents():
    # 不予受理: no acceptance notice and no licence decision, by design.
    assert required_of("license", "license_non_acceptance_decision") == {
        ("license_non_acceptance_decision",), ("service_receipt",)}
    assert ("license_denial_decision",) in required_of("license", "license_acceptance_notice", "license_denial_decision")
    assert required_of("license", chosen="withdrawn") == {("license_acceptance_notice",)}
    assert ("hearing_notice",) in required_of("penalty", "case_filing_form", "hearing_notice")
    assert ("hearing_notice",) not in required_of("penalty", "case_filing_form", "penalty_decision")
    assert required_of("penalty", chosen="not_penalized") == {("case_filing_form",), ("case_closing_form",)}
    # Nothing yet to tell the flow: the case type's own list.
    assert required_of("license") == set(RULES.get("license").required)


@pytest.mark.parametrize("theirs, same", [
    ({"kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司", "credit_code": "91210302ma10q8kx3b"}, True),
    ({"kind": "organization", "name": "鞍山市铁东区 示例餐饮有限公司"}, True),               # spaced, no code
    ({"kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司", "credit_code": "91210303MA0U7F2N4K"}, False),
    ({"kind": "organization", "name": "鞍山市铁西区示例餐饮有限公司"}, False),
])
def test_parties_are_compared_by_code_else_name_as_a_person_reads_them(theirs, same):
    ours = {"kind": "organization", "name": "鞍山市铁东区示例餐饮有限公司", "credit_code": "91210302MA10Q8KX3B"}
    assert same_party(ours, theirs) is same


def test_persons_by_id_number_and_names_in_either_width():
    assert same_party({"name": "张三", "id_number": "21030219900101123X"}, {"name": "张 三", "id_number": "21030219900101123x"})
    assert not same_party({"name": "张三", "id_number": "210302199001011234"}, {"name": "张三", "id_number": "210302199001011235"})
    assert same_party({"name": "鞍山（示例）商贸有限公司"}, {"name": "鞍山(示例)商贸有限公司"})


@pytest.mark.parametrize("variant", ["鞍审批案[2026]7号", "鞍审批案（2026）7号", "鞍审批案【2026】7号", "鞍审批案 〔2026〕 7 号"])
def test_case_numbers_with_other_brackets_or_spaces_are_one_number(variant):
    assert _norm_number(variant) == _norm_number("鞍审批案〔2026〕7号")
    assert _norm_number(variant) != _norm_number("鞍审批案〔2026〕17号")


# --- with the generator --------------------------------------------------------

def refused(resp, field: str) -> str:
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert [e["path"] for e in body["errors"]] and all(e["path"] == field for e in body["errors"])
    return body["detail"] + "".join(e["message"] for e in body["errors"])


def add(client, case_id: str, document: dict):
    return client.post(f"/v1/case-files/{case_id}/items", json={"document_id": document["id"]}, headers=ARCHIVIST)


def test_one_case_one_file_refuses_another_partys_or_cases_documents(archive, generator, license_documents):
    _, client = archive
    case = open_case(client, decision_number=license_documents[1]["number"])
    for document in license_documents:
        assert add(client, case["id"], document).status_code == 201
    denial = generator.issue("license_denial_decision", party=OTHER_PERSON)
    assert "一案一卷" in refused(add(client, case["id"], denial), "document_id")
    penalty = generator.issue("penalty_decision")                  # a third party's penalty
    assert "鞍山示例商贸有限公司" in refused(add(client, case["id"], penalty), "document_id")
    assert len(client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"]) == 3

    # A penalty file: its own case's decision joins (number written with other brackets), another case's does not.
    data_case = dict(penalty["data"]["case"])
    file = open_case(client, case_type="penalty", archive_number="A012-2026-30-0801", party=TRADER,
                     case_number=data_case["number"].replace("〔", "[").replace("〕", "]"),
                     decision_number=penalty["number"])
    assert add(client, file["id"], penalty).status_code == 201
    other = generator.issue("penalty_decision", case={**data_case, "number": "鞍审批案〔2026〕99号"})
    assert "99号" in refused(add(client, file["id"], other), "document_id")


def test_nothing_dated_after_closing_joins_the_file(archive, generator, license_documents):
    _, client = archive
    decided = date.fromisoformat(license_documents[1]["issued_on"])
    closed = (decided - timedelta(days=1)).isoformat()              # closed the day before the decision
    case = open_case(client, archive_number="A012-2026-Y-0802", closed_on=closed,
                     decision_number=license_documents[1]["number"])
    assert "晚于案卷的结案日期" in refused(add(client, case["id"], license_documents[1]), "document_id")
    resp = upload(client, case["id"], "scan.jpg", samples.scan_jpeg(),
                  {"title": "补充材料", "kind": "evidence", "date": decided.isoformat()})
    assert "结案日期" in refused(resp, "meta/date")
    resp = upload(client, case["id"], "scan.jpg", samples.scan_jpeg(),
                  {"title": "营业执照复印件", "kind": "evidence", "date": closed})   # on the closing day: fine
    assert resp.status_code == 201


def test_a_licence_not_accepted_passes_the_required_documents_check(archive, generator):
    _, client = archive
    refusal = generator.issue("license_non_acceptance_decision", party=LICENSE_CASE["party"])
    case = open_case(client, archive_number="A012-2026-Y-0803", decision_number=refusal["number"])
    for document in (refusal, generator.receipt_for(refusal)):
        assert add(client, case["id"], document).status_code == 201
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    required = next(c for c in checks["checks"] if c["id"] == "required_documents")
    assert required["passed"], required
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["variant"] == "not_accepted"


# --- 立卷人, 检查人, cover ------------------------------------------------------------

def test_sealing_needs_both_signatories_and_the_cover_shows_secrecy_and_filing_unit(zhifa_env, seal_p12, tmp_path):
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    body = {k: v for k, v in LICENSE_CASE.items() if k not in ("compiled_by", "checked_by")}
    body.update(decision_number="鞍审批许准字〔2026〕第8号", secrecy="内部", filing_unit="行政审批局综合科")
    resp = client.post("/v1/case-files", json=body, headers=ARCHIVIST)
    assert resp.status_code == 201, resp.get_json()
    case = resp.get_json()
    assert upload(client, case["id"], "scan.jpg", samples.scan_jpeg(), {"title": "营业执照复印件", "kind": "evidence",
                                                                        "date": "2026-03-02"}).status_code == 201
    seal = lambda: client.post(f"/v1/case-files/{case['id']}/seal",  # noqa: E731
                               json={"override_reason": "测试：纸质文书另卷归档"}, headers=ARCHIVIST)
    resp = seal()
    assert resp.status_code == 422 and {e["path"] for e in resp.get_json()["errors"]} == {"compiled_by", "checked_by"}
    patch = client.patch(f"/v1/case-files/{case['id']}", json={"compiled_by": "王敏", "checked_by": "\u3000 "},
                         headers=ARCHIVIST)
    assert patch.status_code == 200 and patch.get_json()["checked_by"] is None     # blank is not a name
    resp = seal()
    assert resp.status_code == 422 and [e["path"] for e in resp.get_json()["errors"]] == ["checked_by"]
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["status"] == "open"
    bad = client.patch(f"/v1/case-files/{case['id']}", json={"secrecy": "顶级", "status": "sealed"}, headers=ARCHIVIST)
    assert bad.status_code == 422 and {e["path"] for e in bad.get_json()["errors"]} >= {"secrecy"}
    assert client.patch(f"/v1/case-files/{case['id']}", json={"checked_by": "李强"}, headers=ARCHIVIST).status_code == 200
    assert seal().status_code == 202
    sealed, path = download_sealed(client, case["id"], tmp_path)
    assert client.patch(f"/v1/case-files/{case['id']}", json={"checked_by": "赵六"}, headers=ARCHIVIST).status_code == 409
    cover = page_text(path, 1).replace(" ", "")
    assert "密级内部" in cover and "立卷单位行政审批局综合科" in cover
    back = page_text(path, sealed["seal"]["pages"]).replace(" ", "")
    assert "王敏" in back and "李强" in back
    seal_box, rules = seal_and_rules(path, sealed["seal"]["pages"], tmp_path)
    assert len(rules) == 3                                       # 立卷人, 检查人, 立卷日期
    # Clear of the rules by 5 mm (20 px at 100 dpi): a signature written on the rule stays readable.
    assert all(not overlaps(grown(seal_box, 20), rule) for rule in rules), (seal_box, rules)
    app.extensions["zhifa.runtime"].close()


def seal_and_rules(path, page: int, tmp_path):
    """The red stamp's bounding box and each long black rule of the back note, as rendered (pixels, 100 dpi)."""
    import subprocess

    from PIL import Image
    subprocess.run(["pdftoppm", "-r", "100", "-f", str(page), "-l", str(page), "-png", str(path), str(tmp_path / "back")],
                   check=True)
    image = Image.open(next(tmp_path.glob("back*.png"))).convert("RGB")
    width, height = image.size
    pixels = image.load()
    red = [(x, y) for y in range(height) for x in range(width)
           if pixels[x, y][0] > 150 and pixels[x, y][1] < 110 and pixels[x, y][2] < 110]
    assert red, "no red stamp on the back note"
    box = (min(x for x, _ in red), min(y for _, y in red), max(x for x, _ in red), max(y for _, y in red))
    rules = []
    for y in range(height // 2, height):
        run = start = 0
        for x in range(width + 1):
            dark = x < width and sum(pixels[x, y]) < 200
            if dark:
                start, run = (x, 1) if run == 0 else (start, run + 1)
            elif run:
                if run > 150:                                    # 56 mm ≈ 220 px: a rule, not a glyph
                    rules.append((start, y, start + run - 1, y))
                run = 0
    merged = []
    for rule in rules:                                       # a rule may be two pixels thick
        if merged and rule[1] - merged[-1][3] <= 2 and abs(rule[0] - merged[-1][0]) <= 2:
            merged[-1] = (merged[-1][0], merged[-1][1], max(merged[-1][2], rule[2]), rule[3])
        else:
            merged.append(rule)
    return box, merged


def grown(box, by: int) -> tuple:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def overlaps(a, b) -> bool:
    return not (a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1])


def test_the_signed_original_is_bound_as_the_record_with_the_generated_pdf_as_its_rendition(
        archive, license_documents, tmp_path):
    import tarfile

    import pikepdf
    _, client = archive
    accepted, granted, receipt = license_documents
    case = open_case(client, archive_number="A012-2026-Y-0804", decision_number=granted["number"])
    for document in license_documents:
        assert add(client, case["id"], document).status_code == 201
    meta = {"title": "准予行政许可决定书（签章原件）", "kind": "document",
            "signed_original_of": granted["number"].replace("〔", "[").replace("〕", "]")}   # as typed at a scanner
    signed = upload(client, case["id"], "signed.jpg", samples.scan_jpeg(text="SIGNED"), meta)
    assert signed.status_code == 201, signed.get_json()
    again = upload(client, case["id"], "signed2.jpg", samples.scan_jpeg(text="AGAIN"), meta)
    assert "已有签章原件" in refused(again, "meta/signed_original_of")
    unknown = upload(client, case["id"], "x.jpg", samples.scan_jpeg(), {**meta, "signed_original_of": "鞍审批许准字〔2026〕第999号"})
    assert "没有文号" in refused(unknown, "meta/signed_original_of")

    body = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
    titles = [i["title"] for i in body["items"]]
    assert titles[0] == "准予行政许可决定书（签章原件）" and len(titles) == 3     # in the decision's place, instead of it
    assert body["items"][0]["number"] == granted["number"] and body["items"][0]["signed_original_of"]
    assert {d["number"] for d in body["unsigned_documents"]} == {accepted["number"], receipt["number"]}
    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    listing = next(c for c in checks["checks"] if c["id"] == "signed_originals")
    assert "受理通知书" in listing["detail"] and "准予行政许可决定书（" not in listing["detail"]

    # The listing alone does not stop the seal; the malware scan (not configured here) does.
    resp = client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST)
    assert [c for c in resp.get_json()["detail"].split("：") if "签章原件" in c] == []
    resp = client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：未配置恶意代码扫描"},
                       headers=ARCHIVIST)
    assert resp.status_code == 202, resp.get_json()
    sealed, path = download_sealed(client, case["id"], tmp_path)
    with pikepdf.open(path) as pdf:
        specs = {str(spec.F): spec for spec in pdf.Root.AF}
        alternatives = [spec for spec in specs.values() if spec.AFRelationship == pikepdf.Name.Alternative]
        assert len(alternatives) == 1
        import hashlib
        data = alternatives[0].EF.F.read_bytes()
        assert hashlib.sha256(data).hexdigest() == granted["files"]["pdf"]["sha256"]   # the generated PDF, intact
        assert len(pdf.pages) == sealed["seal"]["pages"]
    back = page_text(path, sealed["seal"]["pages"]).replace(" ", "")
    assert "尚未附签章原件" in back
    package = tmp_path / "bag.tar"
    package.write_bytes(client.get(f"/v1/case-files/{case['id']}/package", headers=ARCHIVIST).data)
    with tarfile.open(package) as tar:
        assert any(name.endswith("-rendition.pdf") for name in tar.getnames())


def photo_jpeg(width: int = 900, height: int = 675, dpi: int = 150) -> bytes:
    """A 6×4.5 in photo print at 150 dpi: a red block on grey."""
    import io

    from PIL import Image, ImageDraw
    img = Image.new("RGB", (width, height), (120, 120, 120))
    ImageDraw.Draw(img).rectangle([width // 4, height // 4, width // 2, height // 2], fill=(220, 20, 20))
    out = io.BytesIO()
    img.save(out, "JPEG", dpi=(dpi, dpi))
    return out.getvalue()


def test_photos_are_mounted_on_a4_with_their_caption_and_full_page_scans_are_not(zhifa_env, seal_p12, tmp_path):
    import subprocess

    import pikepdf
    app = make_app(zhifa_env, seal_p12, tmp_path)
    client = app.test_client()
    case = open_case(client, archive_number="A012-2026-Y-0805", decision_number="鞍审批许准字〔2026〕第5号")
    caption = {"title": "后厨现场照片", "kind": "evidence", "category": "photo", "date": "2026-03-05",
               "place": "胜利南路示例大厦1层后厨", "photographer": "赵六", "proves": "后厨布局与申请材料一致"}
    assert upload(client, case["id"], "kitchen.jpg", photo_jpeg(), caption).status_code == 201
    assert upload(client, case["id"], "page.jpg", samples.scan_jpeg(text="SHEET"),
                  {"title": "照片档案页", "kind": "evidence", "category": "photo", "date": "2026-03-06"}).status_code == 201
    assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试"},
                       headers=ARCHIVIST).status_code == 202
    sealed, path = download_sealed(client, case["id"], tmp_path)
    with pikepdf.open(path) as pdf:
        sizes = [tuple(round(float(v)) for v in page.mediabox[2:]) for page in pdf.pages[2:4]]
    assert sizes == [(595, 842), (595, 842)]                  # both content pages are A4
    mounted, sheet = page_text(path, 3).replace(" ", ""), page_text(path, 4).replace(" ", "")
    for text in ("照片说明", "拍摄地点胜利南路示例大厦1层后厨", "拍摄人赵六", "证明对象后厨布局与申请材料一致", "20260305"):
        assert text in mounted, mounted
    assert "照片说明" not in sheet                             # a full-page scan is bound as it is
    images = subprocess.run(["pdfimages", "-f", "3", "-l", "3", "-list", str(path)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert len(images) == 1 and images[0].split()[3:5] == ["900", "675"]   # the photo itself, not re-encoded
    # Drawn in the upper part of the sheet, above the caption: red pixels only there.
    subprocess.run(["pdftoppm", "-r", "30", "-f", "3", "-l", "3", "-png", str(path), str(tmp_path / "p")], check=True)
    from PIL import Image
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    px = image.load()
    reds = [y for y in range(image.size[1]) for x in range(image.size[0]) if px[x, y][0] > 180 and px[x, y][1] < 80]
    assert reds and max(reds) < image.size[1] * 190 / 297
    app.extensions["zhifa.runtime"].close()
