"""The case file as an electronic-record encapsulation package (EEP) of
DA/T 48-2009 (基于XML的电子文件封装规范), metadata named after DA/T 46-2009
(文书类电子文件元数据方案).

The element names follow DOMAIN.md's recollection of the standards (not
checked against their texts: see STATUS.md). Written as a stream: the
sealed PDF is embedded as base64 in chunks, hashed as written, never held
in memory whole. The signature block signs the exact UTF-8 bytes of the
被签名对象 element (from "<被签名对象" to "</被签名对象>" inclusive) with
the seal key, RSA PKCS#1 v1.5 over SHA-256, as its 签名规则 element states:
any software can check it.
"""
from __future__ import annotations

import base64
import hashlib
import mmap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterable
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, utils

SIGNED_START = "<被签名对象".encode()
SIGNED_END = "</被签名对象>".encode()
SIGNATURE_RULE = ("对本封装包中“被签名对象”元素的完整字节序列（UTF-8 编码，自“<被签名对象”起至“</被签名对象>”止，"
                  "含起止标记）计算 SHA-256 摘要，以签名人证书对应的私钥按 RSA PKCS#1 v1.5 签名；签名结果为 Base64 编码。")
B64_CHUNK = 3 * 256 * 1024      # a multiple of 3: chunks encode independently


@dataclass
class Document:
    """One computer file of the record: metadata, and content when embedded."""
    seq: int
    name: str
    size: int
    sha256: str
    format: str
    content: Iterable[bytes] | None = None


@dataclass
class Entity:
    """A record (文件实体): the case file (案卷) or one item in it (文件)."""
    level: str
    title: str
    number: str | None
    author: str | None
    date: str | None
    pages: int | None
    page_range: str | None
    documents: list[Document]
    extra: list[tuple[str, str]]      # further DA/T 46 elements: (name, value)


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


def write_eep(out: BinaryIO, *, created_at: datetime, creator: str, entities: list[Entity],
              business: list[tuple[str, str]], private_key, certificate: x509.Certificate, signer: str) -> None:
    w = _SignedWriter(out)
    w.write('<?xml version="1.0" encoding="UTF-8"?>\n<电子文件封装包>\n')
    w.write(_el("封装包格式描述", "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成") + "\n")
    w.write(_el("版本", "2009") + "\n")
    w.signing = True
    w.write('<被签名对象 eep版本="2009">')
    w.write(_el("封装包类型", "原始型") + _el("封装包类型描述", "本封装包包含电子文件数据及其元数据，系原始封装，未经修改")
            + _el("封装包创建时间", created_at.isoformat()) + _el("封装包创建单位", creator))
    w.write("<封装内容><文件实体块>")
    for entity in entities:
        _write_entity(w, entity)
    w.write("</文件实体块><业务实体块><业务实体>")
    w.write("".join(_el(name, value) for name, value in business))
    w.write("</业务实体></业务实体块><机构人员实体块><机构人员实体>")
    w.write(_el("机构人员类型", "单位") + _el("机构人员名称", creator))
    w.write("</机构人员实体></机构人员实体块></封装内容></被签名对象>")
    w.signing = False
    signature = private_key.sign(w.digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
    cert = base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()
    w.write("\n<电子签名块><电子签名>")
    w.write(_el("签名标识符", "修改0签名1") + _el("签名规则", SIGNATURE_RULE) + _el("签名时间", created_at.isoformat())
            + _el("签名人", signer) + _el("签名结果", base64.b64encode(signature).decode())
            + f"<证书块>{_el('证书', cert)}</证书块>" + _el("签名算法标识", "sha256WithRSAEncryption"))
    w.write("</电子签名></电子签名块>\n</电子文件封装包>\n")


def _write_entity(w: _SignedWriter, e: Entity) -> None:
    w.write("<文件实体>" + _el("聚合层次", e.level))
    w.write("<内容描述>" + _el("题名", e.title) + _el("文件编号", e.number) + _el("责任者", e.author)
            + _el("日期", e.date) + "</内容描述>")
    w.write("<形式特征>" + _el("页数", e.pages) + _el("页号", e.page_range) + _el("语种", "汉语") + "</形式特征>")
    w.write("".join(_el(name, value) for name, value in e.extra))
    if e.documents:
        w.write("<文件数据>")
        for doc in e.documents:
            w.write("<文档>" + _el("文档标识符", f"文档{doc.seq}") + _el("文档序号", doc.seq) + "<文档数据><编码>")
            w.write("<电子属性>" + _el("格式信息", doc.format) + _el("计算机文件名", doc.name)
                    + _el("计算机文件大小", doc.size) + _el("文档创建程序", "zhifa archive") + "</电子属性>")
            w.write(f'<数字摘要 算法="SHA-256">{doc.sha256}</数字摘要>')
            if doc.content is not None:
                w.write(_el("编码描述", "“编码数据”元素存储计算机文件二进制流的Base64编码") + _el("反编码关键字", "base64"))
                w.write("<编码数据>")
                for chunk in _rechunk(doc.content):
                    w.write(base64.b64encode(chunk))
                w.write("</编码数据>")
            w.write("</编码></文档数据></文档>")
        w.write("</文件数据>")
    w.write("</文件实体>")


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


def verify_eep(path: Path, trusted: x509.Certificate | None = None) -> dict:
    """Check an EEP's signature by its rule: {valid, signer, certificate_matches}."""
    import re
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        start = data.find(SIGNED_START)
        end = data.find(SIGNED_END)
        if start < 0 or end < 0:
            return {"valid": False, "reason": "缺少被签名对象"}
        digest = hashlib.sha256()
        for offset in range(start, end + len(SIGNED_END), 1 << 20):
            digest.update(data[offset:min(offset + (1 << 20), end + len(SIGNED_END))])
        tail = data[end:].decode("utf-8")
    signature = base64.b64decode(re.search(r"<签名结果>([^<]+)</签名结果>", tail).group(1))
    cert = x509.load_der_x509_certificate(base64.b64decode(re.search(r"<证书>([^<]+)</证书>", tail).group(1)))
    try:
        cert.public_key().verify(signature, digest.digest(), padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))
        valid = True
    except Exception:
        valid = False
    return {"valid": valid, "certificate_matches": trusted is None or cert == trusted,
            "signer": re.search(r"<签名人>([^<]*)</签名人>", tail).group(1)}
