"""The hand-over package's DA/T 48 EEPs carry DA/T 46 metadata as elements:
the 卷's record (立档单位 the agency, 页数 as on the cover, 密级 the file's,
a 文件实体关系 to each 件) and one EEP per 件 with its 题名, 文件编号, 责任者,
日期, 页号, 页数 and its original encapsulated (the signed scan as 主文档,
the generator's PDF as 附属文档). Element names and order follow the DA/T 48
appendix A schema (see eep.py)."""
from __future__ import annotations

import base64
import hashlib
import io
import re
import subprocess
import tarfile
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import bagit
import pytest
from cryptography.hazmat.primitives.serialization import pkcs12

from services.archive.eep import case_record, person_of, verify_eep
from tests.archive import samples
from tests.archive.conftest import open_case, upload, wait_sealed
from tests.archive.test_rules import photo_jpeg
from tests.conftest import auth

ARCHIVIST = auth("archivist")
NS = "{http://www.saac.gov.cn/standards/ERM/encapsulation}"
# DA/T 48-2009 appendix A: the sequences of 档号 and 内容描述.
NUMBER_ORDER = ["全宗号", "目录号", "年度", "保管期限", "机构或问题", "室编案卷号", "馆编案卷号", "室编件号", "馆编件号", "页号"]
CONTENT_ORDER = ["题名", "并列题名", "副题名", "说明题名文字", "主题词", "关键词", "人名", "摘要", "分类号", "文件编号", "责任者",
                 "日期", "文种", "紧急程度", "主送", "抄送", "密级", "保密期限"]


def tags(element) -> list[str]:
    return [c.tag[len(NS):] for c in element]


def in_schema_order(found: list[str], order: list[str]) -> bool:
    positions = [order.index(t) for t in found]
    return positions == sorted(positions)


def entity(root):
    return root.find(f"{NS}被签名对象/{NS}封装内容/{NS}文件实体块/{NS}文件实体")


def text(element, path: str) -> str | None:
    found = element.find(path if path.startswith(NS) else "/".join(NS + p for p in path.split("/")))
    return found.text if found is not None else None


@pytest.fixture
def package(archive, license_documents, tmp_path):
    _, client = archive
    accepted, granted, receipt = license_documents
    case = open_case(client, archive_number="A012-2026-Y-0042", decision_number=granted["number"])
    for doc in (accepted, granted, receipt):
        assert client.post(f"/v1/case-files/{case['id']}/items", json={"document_id": doc["id"]},
                           headers=ARCHIVIST).status_code == 201
        assert upload(client, case["id"], "s.jpg", samples.scan_jpeg(text=doc["number"]),
                      {"title": doc["title"], "kind": "document", "signed_original_of": doc["number"]}).status_code == 201
    assert upload(client, case["id"], "p.jpg", photo_jpeg(), {
        "title": "经营场所门头", "kind": "evidence", "category": "photo", "date": "2026-03-10", "author": "张伟",
        "place": "胜利南路示例大厦", "photographer": "张伟", "proves": "经营场所与申请一致"}).status_code == 201
    assert client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "测试：未配置恶意代码扫描"},
                       headers=ARCHIVIST).status_code == 202
    body = wait_sealed(client, case["id"])
    assert body["status"] == "sealed", body
    sealed = tmp_path / "sealed.pdf"
    sealed.write_bytes(client.get(f"/v1/case-files/{case['id']}/pdf", headers=ARCHIVIST).data)
    resp = client.get(f"/v1/case-files/{case['id']}/package", headers=ARCHIVIST)
    assert resp.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(resp.data)) as tar:
        tar.extractall(tmp_path / "out", filter="data")
    bag = bagit.Bag(str(next((tmp_path / "out").iterdir())))
    bag.validate()
    return body, sealed, bag


def test_the_case_record_names_the_agency_and_agrees_with_the_cover(package, seal_p12):
    body, sealed, bag = package
    root = ET.parse(f"{bag.path}/data/A012-2026-Y-0042.eep.xml").getroot()
    record = entity(root)
    assert text(record, "来源/立档单位名称") == "鞍山市行政审批局"          # the agency (全宗), not 社会事务审批科
    assert text(record, "内容描述/人名") is None                             # a company is not a 人名
    assert text(record, "内容描述/密级") == "非密"
    cover = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(sealed), "-"], capture_output=True,
                           text=True, check=True).stdout.replace(" ", "").replace("\n", "")
    pages = int(re.search(r"卷内页数(\d+)页", cover).group(1))
    assert int(text(record, "形式特征/页数")) == pages == 3 + 1          # three signed scans, one photo sheet
    count = int(re.search(r"卷内件数(\d+)件", cover).group(1))
    relations = root.findall(f"{NS}被签名对象/{NS}封装内容/{NS}文件实体块/{NS}文件实体关系")
    assert len(relations) == count == 4
    assert all(text(r, NS + "文件标识符") == body["id"] and text(r, NS + "关系类型") == "包含" for r in relations)
    _, cert, _ = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), None)
    assert verify_eep(f"{bag.path}/data/A012-2026-Y-0042.eep.xml", cert)["valid"]
    # No per-item free text left in 附注: the items are elements of their own EEPs.
    assert not [n.text for n in record.findall(NS + "附注") if "第1件" in n.text]


def test_each_item_has_its_own_eep_with_da_t_46_elements(package, seal_p12, license_documents):
    body, _, bag = package
    _, cert, _ = pkcs12.load_key_and_certificates(seal_p12.read_bytes(), None)
    generated = {d["number"]: d["files"]["pdf"]["sha256"] for d in license_documents}
    case_root = ET.parse(f"{bag.path}/data/A012-2026-Y-0042.eep.xml").getroot()
    related = [text(r, NS + "被关联文件标识符") for r in case_root.iter(NS + "文件实体关系")]
    records = body["items"]            # as bound: the signed scans in their documents' places, the photo
    assert related == [i["id"] for i in records]
    assert sum(1 for i in records if i["signed_original_of"]) == 3
    for seq, item in enumerate(records, 1):
        path = f"{bag.path}/data/eep/{seq:03d}.eep.xml"
        assert verify_eep(path, cert)["valid"]
        root = ET.parse(path).getroot()
        record = entity(root)
        number, content = record.find(NS + "档号"), record.find(NS + "内容描述")
        assert in_schema_order(tags(number), NUMBER_ORDER) and in_schema_order(tags(content), CONTENT_ORDER)
        assert text(record, "电子文件号") == item["id"]
        assert number.text == f"A012-2026-Y-0042-{seq:03d}" and text(number, NS + "室编件号") == str(seq)
        assert text(number, NS + "室编案卷号") == "0042"
        first, last = item["page_range"]
        assert text(number, NS + "页号") == (str(first) if first == last else f"{first}-{last}")
        assert text(content, NS + "题名") == item["title"]
        assert text(content, NS + "文件编号") == item["number"]
        assert text(content, NS + "责任者") == item["author"]
        assert text(content, NS + "日期") == item["date"].replace("-", "")
        assert text(content, NS + "密级") == "非密"
        assert int(text(record, "形式特征/页数")) == last - first + 1
        assert text(record, "形式特征/文件组合类型") == "单件"
        docs = record.findall(f"{NS}文件数据/{NS}文档")
        decoded = [base64.b64decode("".join(d.find(f"{NS}文档数据/{NS}编码/{NS}编码数据").text.split())) for d in docs]
        assert hashlib.sha256(decoded[0]).hexdigest() == item["sha256"]
        if item["signed_original_of"]:   # the signed scan is the 主文档, the generated PDF the 附属文档
            assert [text(d, NS + "文档主从声明") for d in docs] == ["主文档", "附属文档"]
            assert hashlib.sha256(decoded[1]).hexdigest() == generated[item["number"]]
        else:
            assert len(docs) == 1 and text(docs[0], NS + "文档主从声明") == "主文档"
        relation = root.find(f"{NS}被签名对象/{NS}封装内容/{NS}文件实体块/{NS}文件实体关系")
        assert text(relation, NS + "被关联文件标识符") == body["id"]
    # Every EEP is in the bag's manifest (bag.validate() checked their digests).
    assert {f"data/eep/{seq:03d}.eep.xml" for seq in range(1, len(records) + 1)} <= set(bag.payload_entries())


def test_person_and_secrecy_come_from_the_case_file():
    base = dict(id="c", archive_number="A012-2026-Y-0005", closed_on=__import__("datetime").date(2026, 3, 20),
                retention="永久", fonds_name="鞍山市行政审批局", fonds="A012", title="t", decision_number="n",
                party="张三", sealed_sha256="0" * 64, pages=0)
    person = SimpleNamespace(**base, party_detail={"kind": "person", "name": "张三"}, secrecy="内部")
    company = SimpleNamespace(**{**base, "party": "鞍山示例商贸有限公司"},
                              party_detail={"kind": "organization", "name": "鞍山示例商贸有限公司",
                                            "legal_representative": "李四"}, secrecy="非密")
    older = SimpleNamespace(**base, party_detail=None, secrecy=None)   # a file opened before party and 密级 were asked
    assert person_of(person) == "张三" and person_of(company) == "李四" and person_of(older) is None
    no_rep = SimpleNamespace(**{**base, "party": "某公司"}, party_detail={"kind": "organization", "name": "某公司"}, secrecy=None)
    assert person_of(no_rep) is None
    sealed = SimpleNamespace()
    assert case_record(person, "x", sealed, [], "").secrecy == "内部"
    assert case_record(older, "x", sealed, [], "").secrecy == "非密"
    assert case_record(company, "x", sealed, [], "").unit == "鞍山市行政审批局"
