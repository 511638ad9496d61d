"""The case file as an electronic-record encapsulation package (EEP) of
DA/T 48-2009 (基于XML的电子文件封装规范), metadata named after DA/T 46-2009
(文书类电子文件元数据方案).

Sources followed (checked 2026, see the commit message):
- DA/T 48-2009 appendix A, the EEP XML Schema: element names, order, nesting,
  required/optional, fixed and enumerated values. The standard's own text
  (rmc-2018.com/dag/info/1020/1415.html, wanfa688.com/html/Products/367862.html)
  could only be read as far as its clauses 1-2 (scope, references; it confirms
  "文件级封装" and the 2009 title); the schema itself was read from two
  independent third-party transcriptions of appendix A that agree with each
  other: one with the Chinese element names, one JAXB binding of the same
  schema with English names. So: namespace
  http://www.saac.gov.cn/standards/ERM/encapsulation; root 电子文件封装包 =
  封装包格式描述, 版本 (gYear, fixed 2009), 被签名对象 (attribute eep版本
  2009), then optionally 电子签名块 *and* 锁定签名 together (there is no
  "锚点" element: that was a misremembering). 被签名对象 = 封装包类型
  (原始型|修改型), 封装包类型描述 (an enumeration: the 原始型 text below),
  封装包创建时间 (dateTime), 封装包创建单位, 封装内容 (文件实体块, 业务实体块,
  机构人员实体块). 文件实体块 holds exactly one 文件实体 (聚合层次 is fixed to
  "文件": file-level packages) followed by any 文件实体关系, so the case file
  is one record whose 文件数据 carries the sealed PDF, related to each 件;
  each 件 has its own package (its DA/T 46 elements, its original inside).
- DA/T 46-2009 clause 5 (table of contents of the element descriptions, read
  at zhiaodata.com/news/20231024/41.html): 来源 holds 档案馆名称, 档案馆代码,
  全宗名称, 立档单位名称; 档号 holds 全宗号, 目录号, 年度, 保管期限, 机构或问题,
  类别号, 室编案卷号, 馆编案卷号, 室编件号, 馆编件号, 文档序号, 页号; 内容描述
  holds 题名 ... 人名 ... 文件编号, 责任者, 日期 ...
Could not be verified (standard text past clause 2 not reachable here):
- the standard's 5.x prose on 签名规则 / 签名算法标识 content: the rule text
  below is ours and says exactly what is signed and how, so any software can
  check it; the 锁定签名 (a signature over one 电子签名) is implemented the
  same way over the exact bytes of the 电子签名 element;
- there is no 数字摘要 element in the DA/T 48-2009 schema (nor in the DA/T 46
  table of contents as far as it could be read), so the SHA-256 digests are
  stated in 附注; 件数 is not in the EEP schema's 形式特征 either (附注 too);
- 密级 is required by the schema; its value domain (GB/T 7156) was not
  checked: the caller passes the value.

Written as a stream: the sealed PDF is embedded as base64 in chunks, hashed
as written, never held in memory whole. The signature signs the exact UTF-8
bytes of the 被签名对象 element (from "<被签名对象" to "</被签名对象>"
inclusive) with the seal key, RSA PKCS#1 v1.5 over SHA-256, as its 签名规则
element states.
"""
from __future__ import annotations

import base64
import hashlib
import mmap
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterable
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

NAMESPACE = "http://www.saac.gov.cn/standards/ERM/encapsulation"
FORMAT_DESCRIPTION = "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成"
PACKAGE_TYPE_DESCRIPTION = "本封装包包含电子文件数据及其元数据，原始封装，未经修改"     # the schema's enumeration
ENCODING_DESCRIPTION = ("本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码，有关Base64编码规则参见"
                        "IETF RFC 2045多用途邮件扩展（MIME）第一部分：互联网信息体格式。当提取和显现封装在编码数据元素中的"
                        "计算机文件时，应对Base64编码进行反编码，并依据封装包中“反编码关键字”元素中记录的值还原计算机文件的扩展名")
SIGNATURE_ID = "修改0-签名1"          # 修改R-签名S: original package (R=0), first signature
SIGNED_START = "<被签名对象".encode()
SIGNED_END = "</被签名对象>".encode()
SIGNATURE_START = "<电子签名>".encode()
SIGNATURE_END = "</电子签名>".encode()
SIGNATURE_RULE = ("对本封装包中“被签名对象”元素的完整字节序列（UTF-8 编码，自“<被签名对象”起至“</被签名对象>”止，"
                  "含起止标记）计算 SHA-256 摘要，以签名人证书对应的私钥按 RSA PKCS#1 v1.5 签名；签名结果为 Base64 编码。")
LOCK_RULE = ("对本封装包中签名标识符为“修改0-签名1”的“电子签名”元素的完整字节序列（UTF-8 编码，自“<电子签名>”起至"
             "“</电子签名>”止，含起止标记）计算 SHA-256 摘要，以签名人证书对应的私钥按 RSA PKCS#1 v1.5 签名；签名结果为 Base64 编码。")
SIGNATURE_ALGORITHM = "sha256WithRSAEncryption"
B64_CHUNK = 3 * 256 * 1024      # a multiple of 3: chunks encode independently


@dataclass
class Document:
    """One computer file (文档 with one 文档数据 and one 编码): metadata and its content."""
    seq: int
    name: str
    size: int
    sha256: str
    format: str
    content: Iterable[bytes]
    title: str | None = None
    main: bool = True                 # 文档主从声明: 主文档 / 附属文档


@dataclass
class Record:
    """The one 文件实体 of the package (聚合层次 is fixed to 文件 by the schema)."""
    electronic_id: str                # 电子文件号
    archive_number: str               # 档号 (its text; the parts follow as its child elements)
    year: int                         # 年度
    retention: str                    # 保管期限
    unit: str                         # 立档单位名称
    title: str                        # 题名
    author: str                       # 责任者
    date: str                         # 日期
    secrecy: str                      # 密级
    documents: list[Document]
    fonds: str | None = None          # 全宗号
    fonds_name: str | None = None     # 全宗名称
    item_number: int | None = None    # 室编件号
    number: str | None = None         # 文件编号
    persons: str | None = None        # 人名
    combination: str = "组合文件"      # 文件组合类型: 单件 / 组合文件
    pages: int | None = None          # 页数
    location: str | None = None       # 当前位置
    system: str | None = None         # 信息系统描述
    notes: list[str] = field(default_factory=list)      # 附注, one element each
    volume: str | None = None         # 室编案卷号 (a 件 of a 卷: the 卷's number)
    page_numbers: str | None = None   # 页号 (a 件: its pages in the 卷, e.g. "3-5")
    relations: list["Relation"] = field(default_factory=list)   # 文件实体关系 after the 文件实体


@dataclass
class Relation:
    """One 文件实体关系 (DA/T 48 appendix A: 文件标识符, 被关联文件标识符, 关系类型, 关系, 关系描述)."""
    record: str
    related: str
    kind: str
    relation: str
    description: str | None = None


@dataclass
class Act:
    """One 业务实体 (业务状态 历史行为: a thing that was done)."""
    action: str                       # 业务行为
    at: str                           # 行为时间
    basis: str | None = None          # 行为依据
    description: str | None = None    # 行为描述


def _el(name: str, value) -> str:
    return f"<{name}>{escape(str(value))}</{name}>" if value not in (None, "") else ""


class _SignedWriter:
    def __init__(self, out: BinaryIO):
        self.out = out
        self.digest = hashlib.sha256()
        self.signing = False

    def write(self, text: str | bytes) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        self.out.write(data)
        if self.signing:
            self.digest.update(data)


def _sign(private_key, digest: bytes) -> str:
    return base64.b64encode(private_key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))).decode()


def write_eep(out: BinaryIO, *, created_at: datetime, creator: str, record: Record, acts: list[Act],
              private_key, certificate: x509.Certificate, signer: str) -> None:
    w = _SignedWriter(out)
    w.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<电子文件封装包 xmlns="{NAMESPACE}">\n')
    w.write(_el("封装包格式描述", FORMAT_DESCRIPTION) + "\n" + _el("版本", "2009") + "\n")
    w.signing = True
    w.write('<被签名对象 eep版本="2009">')
    w.write(_el("封装包类型", "原始型") + _el("封装包类型描述", PACKAGE_TYPE_DESCRIPTION)
            + _el("封装包创建时间", created_at.isoformat()) + _el("封装包创建单位", creator))
    w.write("<封装内容><文件实体块>")
    _write_record(w, record)
    for rel in record.relations:
        w.write("<文件实体关系>" + _el("文件标识符", rel.record) + _el("被关联文件标识符", rel.related)
                + _el("关系类型", rel.kind) + _el("关系", rel.relation) + _el("关系描述", rel.description) + "</文件实体关系>")
    w.write("</文件实体块><业务实体块>")
    for n, act in enumerate(acts, 1):
        w.write("<业务实体>" + _el("业务标识符", f"业务{n}") + _el("机构人员标识符", "机构人员1")
                + _el("文件标识符", record.electronic_id) + _el("业务状态", "历史行为") + _el("业务行为", act.action)
                + _el("行为时间", act.at) + _el("行为依据", act.basis) + _el("行为描述", act.description) + "</业务实体>")
    w.write("</业务实体块><机构人员实体块><机构人员实体>")
    w.write(_el("机构人员标识符", "机构人员1") + _el("机构人员类型", "单位") + _el("机构人员名称", creator))
    w.write("</机构人员实体></机构人员实体块></封装内容></被签名对象>")
    w.signing = False
    cert = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    cert_block = f"<证书块>{_el('证书', cert)}</证书块>"
    signature = ("<电子签名>" + _el("签名标识符", SIGNATURE_ID) + _el("签名规则", SIGNATURE_RULE)
                 + _el("签名时间", created_at.isoformat()) + _el("签名人", signer)
                 + _el("签名结果", _sign(private_key, w.digest.digest())) + cert_block
                 + _el("签名算法标识", SIGNATURE_ALGORITHM) + "</电子签名>")
    lock = ("<锁定签名>" + _el("被锁定签名标识符", SIGNATURE_ID) + _el("签名规则", LOCK_RULE)
            + _el("签名时间", created_at.isoformat()) + _el("签名人", signer)
            + _el("签名结果", _sign(private_key, hashlib.sha256(signature.encode()).digest())) + cert_block
            + _el("签名算法标识", SIGNATURE_ALGORITHM) + "</锁定签名>")
    w.write(f"\n<电子签名块>{signature}</电子签名块>\n{lock}\n</电子文件封装包>\n")


def _write_record(w: _SignedWriter, r: Record) -> None:
    w.write("<文件实体>" + _el("聚合层次", "文件"))
    w.write("<来源>" + _el("全宗名称", r.fonds_name) + _el("立档单位名称", r.unit) + "</来源>")
    w.write(_el("电子文件号", r.electronic_id))
    # 档号 is mixed content in the schema: the number as text, then its parts
    w.write("<档号>" + escape(r.archive_number) + _el("全宗号", r.fonds) + _el("年度", r.year)
            + _el("保管期限", r.retention) + _el("室编案卷号", r.volume) + _el("室编件号", r.item_number)
            + _el("页号", r.page_numbers) + "</档号>")
    w.write("<内容描述>" + _el("题名", r.title) + _el("人名", r.persons) + _el("文件编号", r.number)
            + _el("责任者", r.author) + _el("日期", r.date) + _el("密级", r.secrecy) + "</内容描述>")
    w.write("<形式特征>" + _el("文件组合类型", r.combination) + (_el("页数", r.pages) if r.pages else "")
            + _el("语种", "汉语") + "</形式特征>")
    # 存储位置 requires 脱机载体编号 (at least one); the record has no offline carrier: left empty
    w.write("<存储位置>" + _el("当前位置", r.location) + "<脱机载体编号></脱机载体编号></存储位置>")
    w.write("<权限管理></权限管理>" + _el("信息系统描述", r.system) + "".join(_el("附注", note) for note in r.notes))
    w.write("<文件数据>")
    for doc in r.documents:
        doc_id = f"修改0-文档{doc.seq}"
        extension = doc.name.rsplit(".", 1)[-1].lower() if "." in doc.name else ""
        w.write("<文档>" + _el("文档标识符", doc_id) + _el("文档序号", doc.seq)
                + _el("文档主从声明", "主文档" if doc.main else "附属文档") + _el("题名", doc.title))
        w.write(f'<文档数据 文档数据ID="{doc_id}-文档数据1"><编码 编码ID="{doc_id}-文档数据1-编码1">')
        w.write("<电子属性>" + _el("格式信息", doc.format) + _el("计算机文件名", doc.name)
                + _el("计算机文件大小", doc.size) + _el("文档创建程序", "zhifa archive") + "</电子属性>")
        w.write(_el("编码描述", ENCODING_DESCRIPTION) + _el("反编码关键字", extension))
        w.write(f'<编码数据 编码数据ID="{doc_id}-文档数据1-编码1-编码数据">')
        for chunk in _rechunk(doc.content):
            w.write(base64.b64encode(chunk))
        w.write("</编码数据></编码></文档数据></文档>")
    w.write("</文件数据></文件实体>")


def _rechunk(chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Chunks whose lengths are multiples of 3 (but the last), so each encodes on its own."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        cut = len(buffer) - len(buffer) % B64_CHUNK
        if cut:
            yield buffer[:cut]
            buffer = buffer[cut:]
    if buffer:
        yield buffer


def _verify(cert: x509.Certificate, signature_b64: str, digest: bytes) -> bool:
    try:
        cert.public_key().verify(base64.b64decode(signature_b64), digest, padding.PKCS1v15(),
                                 utils.Prehashed(hashes.SHA256()))
        return True
    except Exception:
        return False


def verify_eep(path: Path, trusted: x509.Certificate | None = None) -> dict:
    """Check an EEP's signature and its lock signature by their rules:
    {valid, signature_valid, lock_valid, signer, certificate_matches}."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(SIGNED_START)
        end = data.find(SIGNED_END)
        if start < 0 or end < 0:
            return {"valid": False, "reason": "缺少被签名对象"}
        digest = hashlib.sha256()
        for offset in range(start, end + len(SIGNED_END), 1 << 20):
            digest.update(data[offset:min(offset + (1 << 20), end + len(SIGNED_END))])
        tail = data[end + len(SIGNED_END):].decode("utf-8")
    signed = re.search("<电子签名>.*?</电子签名>", tail, re.S)
    lock = re.search("<锁定签名>.*?</锁定签名>", tail, re.S)
    if not signed or not lock:
        return {"valid": False, "reason": "缺少电子签名或锁定签名"}
    signature, lock_text = signed.group(0), lock.group(0)

    def field_of(text: str, name: str) -> str:
        found = re.search(f"<{name}>([^<]*)</{name}>", text)
        return found.group(1) if found else ""

    cert = x509.load_der_x509_certificate(base64.b64decode(field_of(signature, "证书")))
    lock_cert = x509.load_der_x509_certificate(base64.b64decode(field_of(lock_text, "证书")))
    signature_valid = _verify(cert, field_of(signature, "签名结果"), digest.digest())
    lock_valid = (field_of(lock_text, "被锁定签名标识符") == field_of(signature, "签名标识符")
                  and _verify(lock_cert, field_of(lock_text, "签名结果"), hashlib.sha256(signature.encode()).digest()))
    return {"valid": signature_valid and lock_valid, "signature_valid": signature_valid, "lock_valid": lock_valid,
            "certificate_matches": trusted is None or (cert == trusted and lock_cert == trusted),
            "signer": field_of(signature, "签名人")}


# -- the records of a case file (DA/T 46 elements) ----------------------------------

def person_of(case_file) -> str | None:
    """人名 names a person (DA/T 46: the people the record concerns): the party when it is a natural
    person, else its legal representative when the file knows one; a company's name is not a 人名."""
    party = case_file.party_detail or {}
    person = case_file.party if party.get("kind") == "person" else party.get("legal_representative")
    return person or None


def volume_of(case_file) -> str | None:
    """室编案卷号: the trailing sequence of the 档号 (A012-2026-Y-0007 -> 0007)."""
    match = re.search(r"(\d+)$", case_file.archive_number)
    return match.group(1) if match else None


def item_eep_name(seq: int) -> str:
    return f"eep/{seq:03d}.eep.xml"


def case_record(case_file, name: str, sealed: Document, bound: list, date: str) -> Record:
    """The 卷 as one record: its sealed PDF, 立档单位 the agency (全宗), 页数 the cover's 卷内页数 (the PDF's
    own count in 附注), 密级 the file's, and a 文件实体关系 to each 件 (whose own EEP has its elements).
    `bound`: (item, first page, last page) in binding order."""
    volume = volume_of(case_file)
    content_pages = bound[-1][2] if bound else 0
    notes = [(f"封存的案卷 PDF {name}.pdf，SHA-256 {case_file.sealed_sha256}，共 {case_file.pages} 页"
              f"（含封面、卷内文件目录和备考表）"), f"件数 {len(bound)}，页数 {content_pages}",
             "每件的元数据与原件见各件的封装包 data/eep/NNN.eep.xml（NNN 为件号）"]
    relations = [Relation(case_file.id, item.id, "包含", "卷内文件", f"第{seq}件，见 data/{item_eep_name(seq)}")
                 for seq, (item, _first, _last) in enumerate(bound, 1)]
    return Record(electronic_id=case_file.id, archive_number=case_file.archive_number,
                  year=case_file.closed_on.year, retention=case_file.retention, unit=case_file.fonds_name,
                  title=case_file.title, author=case_file.fonds_name, date=date,
                  secrecy=case_file.secrecy or "非密", documents=[sealed], fonds=case_file.fonds,
                  fonds_name=case_file.fonds_name, item_number=int(volume) or None if volume else None,
                  number=case_file.decision_number, persons=person_of(case_file), pages=content_pages or None,
                  location=f"BagIt 包 data/{name}.pdf", system="zhifa archive", notes=notes, relations=relations)


def item_record(case_file, item, first: int, last: int, seq: int, date: str, documents: list[Document]) -> Record:
    """One 件 of the 卷 with its DA/T 46 elements: 档号 (全宗号, 年度, 保管期限, 室编案卷号, 室编件号, 页号),
    题名, 人名, 文件编号, 责任者, 日期, 密级, 页数; `documents` its original(s): the bound one as 主文档
    (a signed scan, when there is one), the generator's PDF then as 附属文档."""
    pages = f"{first}" if first == last else f"{first}-{last}"
    notes = [f"{d.name}：SHA-256 {d.sha256}" for d in documents]
    if len(documents) > 1:
        notes.append("签章原件扫描件为主文档，生成服务的电子文书为附属文档")
    return Record(electronic_id=item.id, archive_number=f"{case_file.archive_number}-{seq:03d}",
                  year=case_file.closed_on.year, retention=case_file.retention, unit=case_file.fonds_name,
                  title=item.title, author=item.author or "", date=date, secrecy=case_file.secrecy or "非密",
                  documents=documents, fonds=case_file.fonds, fonds_name=case_file.fonds_name, item_number=seq,
                  number=item.number, persons=person_of(case_file), combination="单件", pages=last - first + 1,
                  location=f"BagIt 包 data/originals/{documents[0].name}", system="zhifa archive",
                  volume=volume_of(case_file), page_numbers=pages, notes=notes,
                  relations=[Relation(item.id, case_file.id, "被包含", "案卷",
                                      f"案卷 {case_file.archive_number} 的第{seq}件")])
