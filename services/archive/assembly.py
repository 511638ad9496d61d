"""One PDF per case file, in binding order: cover, table of contents, the
items, back note; page numbers on content pages, bookmarks, page labels,
XMP metadata, an sRGB output intent and every original embedded byte for
byte as an associated file (PDF/A-3b claim).

Originals may be large (a 2 GB video): pikepdf writes the file with an
empty placeholder stream for each original, then `embed_originals` appends
one incremental update that redefines those streams, copying each blob in
chunks, so no original ever sits in memory.
"""
from __future__ import annotations

import io
import re
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name, String
from PIL import ImageCms

from services.archive.layout import (BOLD_TEXT, PHOTO_AREA_MM, REGULAR_TEXT, BackNote, ContentsRow, Cover, MediaListing,
                                    PageMaker, PhotoCaption,
                                    PageNumbers, drawn_text)
from shared.blobstore import BlobStore
from shared.dates import chinese_date

A4_PT = (595.28, 841.89)
XMP_NS = "https://zhifa.example/ns/archive/1.0/"


@dataclass
class Bound:
    """An item as bound: the item (ORM row or any object with its fields) and its page range."""
    item: object
    first: int
    last: int
    volume: str = "正卷"        # or 副卷 (binding.json's procedure)
    rendition: object | None = None   # the generated document a signed original stands for (embedded, not bound)


@dataclass
class Assembled:
    path: Path
    pages: int
    content_pages: int
    back_note_page: int      # 0-based index of the back note's last page: the signature block, where the seal goes
    signature_top_mm: float = 205.0   # the signature block's top on that page


def remark(item) -> str:
    if getattr(item, "signs_item_id", None):
        return "签章原件"
    if item.pdf_sha256 is None:
        return "音视频，见附件"
    if item.source == "generator":
        return "电子文书"
    return "扫描件" if item.format in ("jpeg", "png", "tiff") else ""


def compact_date(value) -> str:
    return value.strftime("%Y%m%d") if value else ""


# GB/T 9705's cover asks for 立卷单位 and 密级 as well; 案件编号 joins them when the file has one.
COVER_LABELS = ("全宗名称", "全宗号", "档号", "案卷题名", "当事人", "案件编号", "决定文书号", "承办单位", "立卷单位",
                "立案（受理）日期", "结案日期", "保管期限", "密级", "卷内件数", "卷内页数")


def cover_for(case_file, heading: str, items: int, pages: int) -> Cover:
    values = (case_file.fonds_name, case_file.fonds, case_file.archive_number, case_file.title, case_file.party,
              case_file.case_number, case_file.decision_number, case_file.handling_unit,
              case_file.filing_unit or case_file.handling_unit, chinese_date(case_file.opened_on),
              chinese_date(case_file.closed_on), case_file.retention, case_file.secrecy or "非密",
              f"{items} 件", f"{pages} 页")
    return Cover(heading, [(label, value) for label, value in zip(COVER_LABELS, values)
                           if value is not None or label != "案件编号"])


def contents_rows(bound: list[Bound]) -> list[ContentsRow]:
    return [ContentsRow(seq, b.item.number or "", b.item.author or "", b.item.title, compact_date(b.item.date),
                        str(b.first) if b.first == b.last else f"{b.first}-{b.last}",
                        "副卷" + ("，" + remark(b.item) if remark(b.item) else "") if b.volume == "副卷" else remark(b.item))
            for seq, b in enumerate(bound, 1)]


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def human_duration(seconds: float | None) -> str:
    if seconds is None:
        return "未知"
    total = int(round(seconds))
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


def media_listing(item) -> MediaListing:
    return MediaListing(item.title, [
        ("文件名称", item.filename or item.title), ("格式", f"{item.format.upper()}（{item.media_type}）"),
        ("时长", human_duration(item.duration_seconds)), ("大小", f"{human_size(item.original_bytes)}（{item.original_bytes} 字节）"),
        ("SHA-256", item.original_sha256), ("日期", compact_date(item.date) or "—"),
    ])


# Where a mounted photo goes on its sheet, in points from the bottom left (fitted, aspect kept).
PHOTO_RECT = pikepdf.Rectangle(PHOTO_AREA_MM[0] * 72 / 25.4, (297 - PHOTO_AREA_MM[3]) * 72 / 25.4,
                               PHOTO_AREA_MM[2] * 72 / 25.4, (297 - PHOTO_AREA_MM[1]) * 72 / 25.4)


def photo_caption(item) -> PhotoCaption:
    caption = getattr(item, "caption", None) or {}
    taken = caption.get("taken_at")         # "YYYY-MM-DD[ HH:MM]", checked at intake
    when = (taken[:10].replace("-", "") + taken[10:]) if taken else compact_date(item.date)
    return PhotoCaption(item.title, when, caption.get("place", ""), caption.get("photographer", ""),
                        caption.get("proves", ""))


IMAGE_FORMATS = frozenset({"jpeg", "png", "tiff"})
CAPTION_LABELS = (("taken_at", "拍摄时间"), ("place", "拍摄地点"), ("photographer", "拍摄人"), ("proves", "证明对象"))


def full_sheet(width: float, height: float) -> bool:
    """An A4 page (either way round, within 3 %): a scanned sheet, e.g. a 照片档案 page with its own caption."""
    short, long = sorted((width, height))
    return abs(short - A4_PT[0]) <= A4_PT[0] * 0.03 and abs(long - A4_PT[1]) <= A4_PT[1] * 0.03


def mounts_photo(item, shapes: list[tuple[float, float]]) -> bool:
    """Whether a photo is mounted on A4 with its 照片说明: a print smaller than A4, and a camera image of any
    size (72 dpi makes a 4000-pixel photo a 1.4 m page); never a page that already is an A4 sheet."""
    if getattr(item, "category", None) != "photo" or not shapes or all(full_sheet(w, h) for w, h in shapes):
        return False
    return item.format in IMAGE_FORMATS or all(w < A4_PT[0] - 1 and h < A4_PT[1] - 1 for w, h in shapes)


LISTED = 10     # names a listing check gives before "等 N 件": the back note prints every failed check's detail


def some(names: list[str], sep: str = "、") -> str:
    return sep.join(names) if len(names) <= LISTED else f"{sep.join(names[:LISTED])}等 {len(names)} 件"


def missing_caption(item) -> list[str]:
    """The 照片说明 fields a mounted photo lacks (题名 is its title; 时间 may be the item's date)."""
    caption = getattr(item, "caption", None) or {}
    return [label for key, label in CAPTION_LABELS
            if not caption.get(key) and not (key == "taken_at" and getattr(item, "date", None))]


def rendition_name(seq: int, generated) -> str:
    return f"{seq:03d}-{generated.original_sha256[:12]}-rendition.pdf"


def attachment_name(seq: int, item) -> str:
    ext = {"jpeg": "jpg", "tiff": "tif"}.get(item.format, item.format)
    return f"{seq:03d}-{item.original_sha256[:12]}.{ext}"


class Assembler:
    def __init__(self, blobs: BlobStore, pages: PageMaker, work_dir: Path):
        self.blobs = blobs
        self.pages = pages
        self.work_dir = Path(work_dir)

    def assemble(self, case_file, heading: str, bound: list[Bound], note: BackNote, target: Path) -> Assembled:
        content_pages = bound[-1].last if bound else 0
        out = pikepdf.new()
        sources: list[pikepdf.Pdf] = []
        held = ExitStack()
        try:
            # The items' files for pikepdf, held until the file is saved (it reads pages lazily):
            # the blobs themselves locally, temp copies fetched side by side from S3.
            files = held.enter_context(self.blobs.local_copies(b.item.pdf_sha256 for b in bound if b.item.pdf_sha256))
            items: list[pikepdf.Pdf | None] = []
            geometry: list[tuple[float, float, int, list[float]]] = []   # per content page
            mounts: dict[int, PhotoCaption] = {}
            for index, b in enumerate(bound):
                if b.item.pdf_sha256:
                    pdf = pikepdf.open(files[b.item.pdf_sha256])
                    sources.append(pdf)
                    if len(pdf.pages) != b.last - b.first + 1:
                        raise ValueError(f"item {b.item.id} has {len(pdf.pages)} pages, {b.item.pages} recorded")
                    shapes = [page_geometry(page) for page in pdf.pages]
                    if mounts_photo(b.item, [(w, h) for w, h, _, _ in shapes]):
                        # A photo (a print, a camera image): mounted on an A4 sheet with its caption.
                        mounts[index] = photo_caption(b.item)
                        shapes = [(A4_PT[0], A4_PT[1], 0, [0, 0, *A4_PT])] * len(shapes)
                    geometry += shapes
                    items.append(pdf)
                else:
                    geometry.append((A4_PT[0], A4_PT[1], 0, [0, 0, *A4_PT]))
                    items.append(None)
            # Every page the archive draws, in one fpdf2 document (fonts subset once).
            cover_page = cover_for(case_file, heading, len(bound), content_pages)
            rows = contents_rows(bound)
            media = {i: media_listing(b.item) for i, b in enumerate(bound) if items[i] is None}
            doc = self.pages.document(
                bold_text=BOLD_TEXT + cover_page.heading + "".join(l for l, _ in cover_page.fields),
                regular_text=drawn_text(REGULAR_TEXT, [v for _, v in cover_page.fields], case_file.archive_number, rows,
                                        list(media.values()), note, "0123456789—", list(mounts.values())))
            cover = self.pages.cover(doc, cover_page)
            contents = self.pages.contents(doc, case_file.archive_number, rows)
            listings = {i: self.pages.media_listing(doc, listing) for i, listing in media.items()}
            sheets = {i: self.pages.photo_mount(doc, caption, len(items[i].pages)) for i, caption in mounts.items()}
            back, signature_top = self.pages.back_note(doc, note)
            numbers = self.pages.page_numbers(doc, [(n, w, h) for n, (w, h, _, _) in enumerate(geometry, 1)])
            own = pikepdf.open(io.BytesIO(self.pages.render(doc)))
            sources.append(own)

            def append(pdf: pikepdf.Pdf, pages: range | None = None) -> tuple[int, int]:
                begin = len(out.pages)
                chosen = pdf.pages if pages is None else [pdf.pages[i] for i in pages]
                out.pages.extend(chosen)
                return begin, len(out.pages)

            cover_at = append(own, cover)
            contents_at = append(own, contents)
            starts = []
            for i, pdf in enumerate(items):
                if i in sheets:
                    begin = append(own, sheets[i])[0]
                    for k, photo in enumerate(pdf.pages):
                        out.pages[begin + k].add_overlay(photo, PHOTO_RECT)
                    starts.append(begin)
                else:
                    starts.append(append(pdf if pdf is not None else own, None if pdf is not None else listings[i])[0])
            back_at = append(own, back)
            first_content = contents_at[1]
            self._number_pages(out, numbers, first_content, geometry, [range(*cover_at), range(*contents_at), range(*back_at)])
            self._outline(out, bound, starts, cover_at, contents_at, back_at)
            self._page_labels(out, contents_at, first_content, back_at)
            self._metadata(out, case_file)
            self._output_intent(out)
            placeholders = self._attachments(out, bound)
            balance_page_tree(out)
            target.parent.mkdir(parents=True, exist_ok=True)
            out.save(target, object_stream_mode=pikepdf.ObjectStreamMode.disable, fix_metadata_version=False)
        finally:
            for pdf in sources:
                pdf.close()
            out.close()
            held.close()
        with self.blobs.local_copies(sha for _, sha in placeholders) as originals:
            embed_originals(target, [(name, originals[sha]) for name, sha in placeholders])
        return Assembled(target, back_at[1], content_pages, back_at[1] - 1, signature_top)

    # -- page numbers ------------------------------------------------------------

    def _number_pages(self, out: pikepdf.Pdf, numbers: PageNumbers, first: int,
                      geometry: list[tuple[float, float, int, list[float]]], own_pages: list[range]) -> None:
        """Draw each number into its page's own content: one short content
        stream per page and the regular face's subset (already in `out` with
        the archive's own pages) as a shared font resource."""
        if not numbers.texts:
            return
        font = None
        for index in (i for pages in own_pages for i in pages):
            fonts = out.pages[index].obj.get("/Resources", {}).get("/Font", {})
            if numbers.font in fonts:
                font = fonts[numbers.font]
                break
        if font is None:
            raise ValueError("the regular face is not on the archive's own pages")
        for offset, (text, (_w, _h, rotate, box)) in enumerate(zip(numbers.texts, geometry)):
            page = out.pages[first + offset]
            name = page.add_resource(font, Name.Font, prefix="ZhifaPageNumber")
            matrix = visual_to_user(rotate, box)
            # Wrap the page's own content so a state it leaves behind cannot move the number.
            page.contents_add(b"q\n", prepend=True)
            page.contents_add(b"Q\nq %s cm 0 g %s Q\n" % (
                " ".join(f"{v:g}" for v in matrix).encode(),
                text.replace(b"BT ", b"BT %s %g Tf " % (str(name).encode(), numbers.size), 1)))

    # -- navigation --------------------------------------------------------------

    def _outline(self, out, bound, starts, cover, contents, back) -> None:
        with out.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem("封面", cover[0]))
            outline.root.append(pikepdf.OutlineItem("卷内文件目录", contents[0]))
            for seq, (b, start) in enumerate(zip(bound, starts), 1):
                label = f"{seq}. {b.item.title}" + (f"（{b.item.number}）" if b.item.number else "")
                outline.root.append(pikepdf.OutlineItem(label, start))
            outline.root.append(pikepdf.OutlineItem("备考表", back[0]))

    def _page_labels(self, out, contents, first_content, back) -> None:
        nums = [0, Dictionary(P=String("封面")), contents[0], Dictionary(P=String("目录"), S=Name.D, St=1)]
        if back[0] > first_content:
            nums += [first_content, Dictionary(S=Name.D, St=1)]
        nums += [back[0], Dictionary(P=String("备考表"))]
        out.Root.PageLabels = out.make_indirect(Dictionary(Nums=Array(nums)))

    # -- PDF/A-3b ----------------------------------------------------------------

    def _metadata(self, out: pikepdf.Pdf, case_file) -> None:
        moment = datetime.now(timezone.utc).replace(microsecond=0)
        out.Root.Metadata = out.make_indirect(pikepdf.Stream(out, xmp(case_file, moment).encode("utf-8"),
                                                             Type=Name.Metadata, Subtype=Name.XML))
        stamp = "D:" + moment.strftime("%Y%m%d%H%M%S") + "Z"
        out.trailer.Info = out.make_indirect(Dictionary(
            Title=String(case_file.title), Author=String(case_file.fonds_name),
            Subject=String(f"档号 {case_file.archive_number}"), Creator=String("zhifa archive"),
            Producer=String(f"pikepdf {pikepdf.__version__}"), CreationDate=String(stamp), ModDate=String(stamp)))
        out.Root.Lang = String("zh-CN")
        out.Root.MarkInfo = Dictionary(Marked=False)

    def _output_intent(self, out: pikepdf.Pdf) -> None:
        icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
        profile = out.make_indirect(pikepdf.Stream(out, icc, N=3))
        out.Root.OutputIntents = Array([Dictionary(
            Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=String("sRGB"),
            RegistryName=String("http://www.color.org"), Info=String("sRGB IEC61966-2.1"), DestOutputProfile=profile)])

    def _attachments(self, out: pikepdf.Pdf, bound: list[Bound]) -> list[tuple[str, str]]:
        """File specifications for every original, each with an empty
        EmbeddedFile stream filled in by `embed_originals`; (name, sha256)."""
        names, specs, placeholders = [], [], []
        for seq, b in enumerate(bound, 1):
            item = b.item
            name = attachment_name(seq, item)
            stream = out.make_indirect(pikepdf.Stream(out, b"", Type=Name.EmbeddedFile,
                                                      Subtype=Name("/" + item.media_type)))
            relationship = Name.Data if item.pdf_sha256 is None else Name.Source
            spec = out.make_indirect(Dictionary(
                Type=Name.Filespec, F=String(name), UF=String(f"{seq:03d} {item.title}{Path(name).suffix}"),
                Desc=String(f"原件：{item.title}；SHA-256 {item.original_sha256}"),
                AFRelationship=relationship, EF=Dictionary(F=stream, UF=stream)))
            names += [String(name), spec]
            specs.append(spec)
            placeholders.append((name, item.original_sha256))
            if b.rendition is not None:       # the generated PDF of a signed original: its rendition, kept beside it
                generated = b.rendition
                r_name = rendition_name(seq, generated)
                r_stream = out.make_indirect(pikepdf.Stream(out, b"", Type=Name.EmbeddedFile,
                                                            Subtype=Name("/application/pdf")))
                r_spec = out.make_indirect(Dictionary(
                    Type=Name.Filespec, F=String(r_name), UF=String(f"{seq:03d} {generated.title}（生成文本）.pdf"),
                    Desc=String(f"第{seq}件签章原件的生成文本：{generated.title}；SHA-256 {generated.original_sha256}"),
                    AFRelationship=Name.Alternative, EF=Dictionary(F=r_stream, UF=r_stream)))
                names += [String(r_name), r_spec]
                specs.append(r_spec)
                placeholders.append((r_name, generated.original_sha256))
        if specs:
            out.Root.AF = Array(specs)
            out.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array(names)))
        return placeholders


def balance_page_tree(pdf: pikepdf.Pdf, fanout: int = 16) -> None:
    """Group the pages under intermediate /Pages nodes of at most `fanout`
    kids (pikepdf leaves one flat list). A reader finds a page by its
    index through the nodes' /Count, reading a few dozen objects instead of
    every page before it: pyHanko looks up the back note (the last page)
    twice per seal. Call after the last change to the pages: the tree is no
    longer what pikepdf's page list expects."""
    root = pdf.Root.Pages
    level = list(root.Kids)
    if len(level) <= fanout:
        return
    while len(level) > fanout:
        nodes = []
        for i in range(0, len(level), fanout):
            group = level[i:i + fanout]
            count = sum(int(kid.Count) if kid.get("/Type") == Name.Pages else 1 for kid in group)
            node = pdf.make_indirect(Dictionary(Type=Name.Pages, Kids=Array(group), Count=count))
            for kid in group:
                kid.Parent = node
            nodes.append(node)
        level = nodes
    for node in level:
        node.Parent = root
    root.Kids = Array(level)


def page_geometry(page: pikepdf.Page) -> tuple[float, float, int, list[float]]:
    """(width, height as shown, /Rotate, media box) of a page."""
    box = [float(v) for v in page.mediabox]
    rotate = int(page.obj.get("/Rotate", 0)) % 360
    width, height = box[2] - box[0], box[3] - box[1]
    return (height, width, rotate, box) if rotate in (90, 270) else (width, height, rotate, box)


def visual_to_user(rotate: int, box: list[float]) -> tuple[float, ...]:
    """The matrix that maps coordinates as the page is shown (after /Rotate)
    to the page's user space, so a number drawn top right appears top right."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    return {0: (1, 0, 0, 1, x0, y0),
            90: (0, 1, -1, 0, x0 + width, y0),
            180: (-1, 0, 0, -1, x0 + width, y0 + height),
            270: (0, -1, 1, 0, x0, y0 + height)}[rotate]


def xmp(case_file, moment: datetime) -> str:
    """XMP with the PDF/A-3b claim, Dublin Core title and the archive's own
    properties (described in a PDF/A extension schema, as PDF/A requires)."""
    e = lambda v: escape(str(v or ""))   # noqa: E731
    when = moment.isoformat().replace("+00:00", "Z")
    props = [("ArchiveNumber", "档号", case_file.archive_number), ("Fonds", "全宗号", case_file.fonds),
             ("FondsName", "全宗名称", case_file.fonds_name), ("Retention", "保管期限", case_file.retention),
             ("CaseType", "案卷类型", case_file.case_type), ("DecisionNumber", "决定文书号", case_file.decision_number),
             ("CaseFileId", "案卷标识", case_file.id)]
    schema = "".join(
        f'<rdf:li rdf:parseType="Resource"><pdfaProperty:name>{name}</pdfaProperty:name>'
        f'<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category>'
        f'<pdfaProperty:description>{e(desc)}</pdfaProperty:description></rdf:li>' for name, desc, _ in props)
    values = "".join(f"<zhifa:{name}>{e(value)}</zhifa:{name}>" for name, _, value in props)
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#" xmlns:zhifa="{XMP_NS}">
<pdfaid:part>3</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance>
<dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(case_file.title)}</rdf:li></rdf:Alt></dc:title>
<dc:creator><rdf:Seq><rdf:li>{e(case_file.fonds_name)}</rdf:li></rdf:Seq></dc:creator>
<dc:description><rdf:Alt><rdf:li xml:lang="x-default">档号 {e(case_file.archive_number)}</rdf:li></rdf:Alt></dc:description>
<dc:language><rdf:Bag><rdf:li>zh-CN</rdf:li></rdf:Bag></dc:language>
<xmp:CreateDate>{when}</xmp:CreateDate><xmp:ModifyDate>{when}</xmp:ModifyDate><xmp:MetadataDate>{when}</xmp:MetadataDate>
<xmp:CreatorTool>zhifa archive</xmp:CreatorTool><pdf:Producer>pikepdf {e(pikepdf.__version__)}</pdf:Producer>
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>zhifa archive case file</pdfaSchema:schema><pdfaSchema:namespaceURI>{XMP_NS}</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>zhifa</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>{schema}</rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
{values}
</rdf:Description></rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>"""


def read_xmp_property(pdf: pikepdf.Pdf, name: str) -> str | None:
    """One of the archive's XMP properties (e.g. ArchiveNumber) of a PDF, if present."""
    metadata = pdf.Root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        return None
    match = re.search(rf"<zhifa:{name}>([^<]*)</zhifa:{name}>".encode(), metadata.read_bytes())
    return match.group(1).decode("utf-8", "replace") if match else None


# -- incremental embedding of originals --------------------------------------------

def embed_originals(path: Path, originals: list[tuple[str, Path]]) -> None:
    """Append one incremental update to `path` that fills each named
    attachment's EmbeddedFile stream with its original's file, streamed in chunks."""
    if not originals:
        return
    with pikepdf.open(path) as pdf:
        streams = {name: (spec.EF.F.objgen, Name(spec.EF.F.Subtype).unparse())
                   for name, spec in _embedded_files(pdf)}
        size = int(pdf.trailer.Size)
        root = pdf.Root.objgen
        info = pdf.trailer.Info.objgen if "/Info" in pdf.trailer else None
        ids = [bytes(x) for x in pdf.trailer.ID] if "/ID" in pdf.trailer else None
    prev = _startxref(path)
    moment = "D:" + datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S") + "Z"
    offsets: dict[int, tuple[int, int]] = {}
    with open(path, "ab") as out:
        position = out.tell()

        def write(data: bytes) -> None:
            nonlocal position
            out.write(data)
            position += len(data)

        for name, source in originals:
            (number, generation), subtype = streams[name]
            length = source.stat().st_size
            offsets[number] = (position + 1, generation)
            write(b"\n%d %d obj\n<< /Type /EmbeddedFile /Subtype %s /Length %d /Params << /Size %d /ModDate (%s) >> >>\nstream\n"
                  % (number, generation, subtype, length, length, moment.encode()))
            with open(source, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    write(chunk)
            write(b"\nendstream\nendobj\n")
        xref = position
        lines = [b"xref\n"]
        for number in sorted(offsets):
            offset, generation = offsets[number]
            lines.append(b"%d 1\n%010d %05d n \n" % (number, offset, generation))
        trailer = b"trailer\n<< /Size %d /Root %d %d R /Prev %d" % (size, root[0], root[1], prev)
        if info:
            trailer += b" /Info %d %d R" % info
        if ids:
            trailer += b" /ID [<%s> <%s>]" % (ids[0].hex().encode(), ids[1].hex().encode())
        trailer += b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
        write(b"".join(lines) + trailer)


def _embedded_files(pdf: pikepdf.Pdf) -> Iterator[tuple[str, pikepdf.Dictionary]]:
    names = pdf.Root.get("/Names", {}).get("/EmbeddedFiles", {}).get("/Names", [])
    for i in range(0, len(names), 2):
        yield str(names[i]), names[i + 1]


def _startxref(path: Path) -> int:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        fh.seek(max(0, fh.tell() - 1024))
        tail = fh.read()
    match = re.findall(rb"startxref\s+(\d+)", tail)
    if not match:
        raise ValueError("no startxref in the assembled file")
    return int(match[-1])


def bound_items(ordered: list[tuple[object, int, int]]) -> list[Bound]:
    return [Bound(item, first, last) for item, first, last in ordered]
