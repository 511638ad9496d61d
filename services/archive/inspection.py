"""What a file really is, and whether the archive may keep it.

Every upload is sniffed from its bytes (never from its name), compared with
what the client declared, and refused with a problem naming `file` when it
is empty, unknown, executable, mislabelled, corrupt, encrypted, carries
active content, or is an image past the pixel limit. Scans become PDF
pages losslessly (img2pdf); PDFs are kept as they are; audio and video are
kept as they are and get a listing page at assembly. Pure functions on
paths: no Flask, no database.
"""
from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import img2pdf
import pikepdf
from PIL import Image

from shared.problems import FieldError, Problem

# An A4 page scanned at 600 dpi is about 35 megapixels; 100 leaves room for
# A3 and large drawings while refusing decompression bombs before decoding.
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS      # Pillow warns past it, refuses past twice it; we refuse past it ourselves
MAX_FRAMES = 500
A4_POINTS = (img2pdf.mm_to_pt(210), img2pdf.mm_to_pt(297))

FAMILIES = {
    "pdf": "pdf", "jpeg": "image", "png": "image", "tiff": "image",
    "mp3": "audio", "wav": "audio", "m4a": "audio", "ogg": "audio", "flac": "audio",
    "mp4": "video", "mov": "video", "avi": "video", "mkv": "video", "webm": "video",
}
MEDIA_TYPES = {
    "pdf": "application/pdf", "jpeg": "image/jpeg", "png": "image/png", "tiff": "image/tiff",
    "mp3": "audio/mpeg", "wav": "audio/wav", "m4a": "audio/mp4", "ogg": "audio/ogg", "flac": "audio/flac",
    "mp4": "video/mp4", "mov": "video/quicktime", "avi": "video/x-msvideo", "mkv": "video/x-matroska",
    "webm": "video/webm",
}
EXTENSIONS = {"pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "png": "png", "tif": "tiff", "tiff": "tiff",
              "mp3": "mp3", "wav": "wav", "m4a": "m4a", "ogg": "ogg", "oga": "ogg", "flac": "flac",
              "mp4": "mp4", "m4v": "mp4", "mov": "mov", "avi": "avi", "mkv": "mkv", "webm": "webm"}
EXECUTABLE_EXTENSIONS = frozenset({
    "exe", "dll", "com", "scr", "bat", "cmd", "ps1", "vbs", "vbe", "js", "jse", "wsf", "msi", "jar", "sh",
    "bin", "elf", "so", "dylib", "app", "apk", "hta", "cpl", "lnk", "py", "pl", "rb",
    "pif", "msc", "msp", "reg", "inf", "scf", "url", "chm", "gadget", "application", "psm1", "ws", "wsh",
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "iso", "img", "vhd", "vhdx"})
# Formats mutagen reads: a file of these that it cannot parse is corrupt.
MUTAGEN_FORMATS = frozenset({"mp3", "wav", "m4a", "ogg", "flac", "mp4", "mov"})


def refused(message: str, detail: str | None = None) -> Problem:
    return Problem(422, "upload-refused", "文件未予接收", detail or message, [FieldError("file", message)])


@dataclass
class Inspected:
    format: str                       # key of FAMILIES
    media_type: str
    pages: int                        # pages bound into the case file (1 listing page for media)
    rendition: bytes | None = None    # PDF pages made from a scan; None: the original is bound as is (PDF) or listed (media)
    duration_seconds: float | None = None
    report: dict = field(default_factory=dict)   # e.g. {"unembedded_fonts": [...]} for the usability check

    @property
    def family(self) -> str:
        return FAMILIES[self.format]


# -- sniffing ------------------------------------------------------------------

def executable_magic(head: bytes) -> bool:
    return (head.startswith((b"MZ", b"\x7fELF", b"#!", b"\xca\xfe\xba\xbe", b"\xfe\xed\xfa\xce",
                             b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"dex\n")))


def sniff(head: bytes) -> str | None:
    """The format the first bytes announce, or None."""
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"M4A ", b"M4B "):
            return "m4a"
        return "mov" if brand == b"qt  " else "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def declared_format(filename: str, content_type: str) -> str | None:
    """What the client said the file is (extension first, then media type), if anything."""
    ext = PurePosixPath(filename).suffix.lower().lstrip(".")
    if ext in EXECUTABLE_EXTENSIONS:
        return "executable"
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    base = content_type.split(";")[0].strip().lower()
    if base in ("", "application/octet-stream"):
        return None
    for fmt, media_type in MEDIA_TYPES.items():
        if media_type == base:
            return fmt
    guessed = mimetypes.guess_extension(base)
    if guessed and guessed.lstrip(".") in EXTENSIONS:
        return EXTENSIONS[guessed.lstrip(".")]
    if base in ("application/x-msdownload", "application/x-executable", "application/x-sh",
                "application/javascript", "text/javascript", "application/x-msdos-program"):
        return "executable"
    return "unknown"


def identify(path: Path, size: int, filename: str, content_type: str) -> str:
    """The sniffed format, refused when it cannot be kept or contradicts the declaration."""
    if size == 0:
        raise refused("文件为空。")
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if executable_magic(head):
        raise refused("不接收可执行文件或脚本。")
    declared = declared_format(filename, content_type)
    if declared == "executable":
        raise refused("不接收可执行文件或脚本。")
    fmt = sniff(head)
    if fmt is None:
        raise refused("无法识别的文件类型：仅接收 PDF、JPEG/PNG/TIFF 扫描件及常见音视频文件。")
    if declared is not None and FAMILIES.get(declared) != FAMILIES[fmt] and not _compatible(declared, fmt):
        raise refused(f"文件内容（{fmt.upper()}）与声明的类型不符。")
    return fmt


def _compatible(declared: str, sniffed: str) -> bool:
    """MP4 containers are audio or video by what they hold: .m4a declared, mp4 sniffed (or back) is fine."""
    return {declared, sniffed} <= {"mp4", "m4a", "mov"}


# -- per family ----------------------------------------------------------------

def inspect(path: Path, size: int, filename: str, content_type: str) -> Inspected:
    fmt = identify(path, size, filename, content_type)
    family = FAMILIES[fmt]
    if family == "image":
        image_header(path)           # the pixel limits first: they need only the header
    hidden = hidden_payload(path, fmt)
    if hidden:
        raise refused(hidden)
    if family == "pdf":
        pages, report = inspect_pdf(path)
        return Inspected(fmt, MEDIA_TYPES[fmt], pages, None, None, report)
    if family == "image":
        rendition, pages = image_to_pdf(path)
        return Inspected(fmt, MEDIA_TYPES[fmt], pages, rendition)
    duration = media_duration(path, fmt)
    return Inspected(fmt, MEDIA_TYPES[fmt], 1, None, duration)


def inspect_pdf(path: Path) -> tuple[int, dict]:
    """(page count, report) of a PDF that may be bound; refused when it is
    corrupt, encrypted, empty or carries active content."""
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise refused("PDF 已加密，无法长期保存：请上传未加密的文件。")
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        raise refused("PDF 文件已损坏，无法打开。", f"PDF 文件已损坏：{exc}")
    with pdf:
        if pdf.is_encrypted:
            raise refused("PDF 已加密，无法长期保存：请上传未加密的文件。")
        try:
            active = walk_pdf(pdf).active
            pages = len(pdf.pages)
            unembedded = unembedded_fonts(pdf)
        except PdfTooComplex as exc:
            raise refused(f"PDF 结构过于复杂，无法完整检查（{exc}），未予接收。")
        except (pikepdf.PdfError, RecursionError, ValueError) as exc:
            raise refused("PDF 文件已损坏，无法读取。", f"PDF 文件已损坏：{exc}")
        warnings = pdf.get_warnings()
    if warnings:
        raise refused("PDF 文件已损坏（结构需修复才能读取）。", f"PDF 文件已损坏：{warnings[0]}")
    if active:
        raise refused(f"PDF 含有不允许的主动内容：{'、'.join(sorted(active))}。")
    if pages == 0:
        raise refused("PDF 没有页面。")
    return pages, {"unembedded_fonts": unembedded}


# -- the PDF's object graph -----------------------------------------------------
#
# Everything a reader could act on hangs somewhere off the trailer: catalog
# and page /AA, /OpenAction, annotations, form fields, name trees, outline
# actions chained by /Next, XFA, file specifications and their /EF streams.
# The walk visits every dictionary, array and stream dictionary reachable
# from the trailer and every numbered object (also those in object
# streams, and unreachable ones), each once, with bounds: a file past them
# is refused rather than half checked.

MAX_PDF_NODES = 1_000_000        # dictionaries/arrays/streams visited (a 1,000-page scan is ~20,000)
MAX_PDF_NESTING = 64             # direct objects inside direct objects (real files: under 10)
PDF_WALK_SECONDS = 20.0
EMBEDDED_DECODE_BYTES = 64 * 1024 * 1024   # decoded bytes read from one embedded file to look into it

ACTIONS = {
    "/JavaScript": "JavaScript", "/Launch": "启动外部程序的动作", "/ImportData": "导入数据动作",
    "/SubmitForm": "提交表单动作", "/GoToR": "打开其他文件的动作", "/GoToE": "打开嵌入文件的动作",
    "/RichMediaExecute": "富媒体执行动作", "/Sound": "声音动作", "/Movie": "影片动作", "/Rendition": "媒体播放动作",
}
ANNOTATIONS = {"/RichMedia": "富媒体注释", "/Movie": "影片注释", "/Sound": "声音注释", "/Screen": "媒体播放注释",
               "/3D": "三维注释"}
SAFE_URI_SCHEMES = ("http://", "https://", "mailto:")
FILESPEC_NAME_KEYS = ("/UF", "/F", "/DOS", "/Mac", "/Unix")
# Office files with macros (vbaProject.bin) and names that run when opened.
MACRO_MEMBERS = ("vbaproject.bin", "vbadata.xml")


class PdfTooComplex(Exception):
    """The file is past one of the walk's bounds."""


@dataclass
class PdfGraph:
    active: set[str] = field(default_factory=set)   # Chinese names of what is active
    nodes: int = 0
    largest_signature: int = 0     # bytes of the largest /Contents of a signature dictionary
    signatures: int = 0


def walk_pdf(pdf: pikepdf.Pdf, max_nodes: int = MAX_PDF_NODES, max_nesting: int = MAX_PDF_NESTING,
             seconds: float = PDF_WALK_SECONDS, inspect_embedded: bool = True,
             max_string: int | None = None) -> PdfGraph:
    """Visit the whole object graph once; raises PdfTooComplex past a bound
    (`max_string`: the longest string allowed, e.g. for verify)."""
    import time
    deadline = time.monotonic() + seconds
    graph = PdfGraph()
    seen: set[tuple[int, int]] = set()
    dictionary, array, stream = pikepdf.ObjectType.dictionary, pikepdf.ObjectType.array, pikepdf.ObjectType.stream
    string = pikepdf.ObjectType.string
    # (object, direct nesting): the nesting restarts at each indirect object
    stack: list[tuple[pikepdf.Object, int]] = [(pdf.trailer, 0)]
    stack.extend((obj, 0) for obj in pdf.objects)
    while stack:
        obj, nesting = stack.pop()
        if not isinstance(obj, pikepdf.Object):     # numbers and booleans come back as Python values
            continue
        code = obj._type_code
        if code == string and max_string is not None and len(bytes(obj)) > max_string:
            raise PdfTooComplex(f"字符串超过 {max_string} 字节")
        if code not in (dictionary, array, stream):
            continue
        if obj.is_indirect:
            key = obj.objgen
            if key in seen:
                continue
            seen.add(key)
            nesting = 0
        elif nesting > max_nesting:
            raise PdfTooComplex(f"对象嵌套超过 {max_nesting} 层")
        graph.nodes += 1
        if graph.nodes > max_nodes:
            raise PdfTooComplex(f"对象超过 {max_nodes} 个")
        if graph.nodes % 4096 == 0 and time.monotonic() > deadline:
            raise PdfTooComplex(f"检查超过 {seconds:g} 秒")
        if code == array:
            stack.extend((child, nesting + 1) for child in obj)
            continue
        entries = dict((obj.stream_dict if code == stream else obj).items())
        _judge(entries, graph, inspect_embedded, obj if code == stream else None)
        stack.extend((child, nesting + 1) for child in entries.values())
    return graph


def _judge(d: dict, graph: PdfGraph, inspect_embedded: bool, stream=None) -> None:
    """What one dictionary (or stream dictionary, `stream` the stream), as a
    plain dict of its entries (read once: each lookup on a pikepdf object
    crosses into C++), makes active."""
    found = graph.active
    if "/JS" in d or "/JavaScript" in d:          # an action's script, or the document's JavaScript name tree
        found.add("JavaScript")
    if "/XFA" in d:
        found.add("XFA 表单（可含脚本）")
    action = d.get("/S")
    if action is not None and isinstance(action, pikepdf.Name):
        name = str(action)
        if name in ACTIONS:
            found.add(ACTIONS[name])
        elif name == "/URI":
            uri = _text(d.get("/URI")).strip().lower()
            if not uri.startswith(SAFE_URI_SCHEMES):
                found.add("非网页链接（URI 动作）")
    subtype = d.get("/Subtype")
    if subtype is not None and isinstance(subtype, pikepdf.Name) and str(subtype) in ANNOTATIONS \
            and ("/Rect" in d or "/Type" in d):
        found.add(ANNOTATIONS[str(subtype)])
    if "/ByteRange" in d and "/Contents" in d:     # a signature value: verify bounds its size
        graph.signatures += 1
        contents = d["/Contents"]
        if isinstance(contents, pikepdf.String):
            graph.largest_signature = max(graph.largest_signature, len(bytes(contents)))
    kind = d.get("/Type")
    kind = str(kind) if kind is not None and isinstance(kind, pikepdf.Name) else ""
    ef = d.get("/EF")
    if ef is not None or kind == "/Filespec":
        for key in FILESPEC_NAME_KEYS:
            if key in d and executable_name(_text(d[key])):
                found.add("嵌入的可执行文件")
        if isinstance(ef, pikepdf.Dictionary) and inspect_embedded:
            for embedded in ef.values():
                if embedded._type_code == pikepdf.ObjectType.stream:
                    found.update(embedded_file_findings(embedded))
    elif kind == "/EmbeddedFile" and stream is not None and inspect_embedded:
        found.update(embedded_file_findings(stream))


def _text(value) -> str:
    if isinstance(value, (pikepdf.String, pikepdf.Name)):
        return str(value)
    return ""


def executable_name(name: str) -> bool:
    """Whether a file name would run when opened: the extension after
    Windows' own clean-up (trailing dots and spaces dropped, compatibility
    forms folded: "run.bat ", "RUN.BAT.", "ｒｕｎ．ｂａｔ")."""
    import unicodedata
    name = unicodedata.normalize("NFKC", name or "")
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")   # controls, RTL overrides
    name = name.replace("\\", "/").rsplit("/", 1)[-1].rstrip(" .\t").lower()
    return "." in name and name.rsplit(".", 1)[1].strip() in EXECUTABLE_EXTENSIONS


def embedded_file_findings(stream: pikepdf.Object) -> set[str]:
    """What an embedded file's bytes are: an executable, a script, an archive
    holding executables or macros. Decoding is bounded (a Flate bomb stops
    at EMBEDDED_DECODE_BYTES)."""
    head, complete = _decoded_head(stream, EMBEDDED_DECODE_BYTES)
    found = set()
    if executable_magic(head[:16]):
        found.add("嵌入的可执行文件")
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")):
        found.add("嵌入的压缩包（无法检查其内容）")
    elif head.startswith(b"PK\x03\x04"):
        found.update(zip_findings(head) if complete else {"嵌入的压缩包（过大，无法检查其内容）"})
    return found


def zip_findings(data: bytes) -> set[str]:
    import zipfile
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()[:100_000]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return {"嵌入的压缩包（已损坏，无法检查其内容）"}
    found = set()
    for name in names:
        if executable_name(name):
            found.add("压缩包中的可执行文件")
        if name.rsplit("/", 1)[-1].lower() in MACRO_MEMBERS:
            found.add("含宏的 Office 文件")
    return found


def _decoded_head(stream: pikepdf.Object, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` decoded bytes of a stream, and whether that is all of it."""
    import zlib
    filters = stream.stream_dict.get("/Filter")
    filters = [filters] if isinstance(filters, pikepdf.Name) else list(filters or [])
    raw = stream.read_raw_bytes()
    if not filters:
        return raw[:limit], len(raw) <= limit
    if [str(f) for f in filters] == ["/FlateDecode"] and "/DecodeParms" not in stream.stream_dict:
        inflater = zlib.decompressobj()
        try:
            out = inflater.decompress(raw, limit)
        except zlib.error:
            return b"", True
        return out, not inflater.unconsumed_tail
    if len(raw) <= 1024 * 1024:      # other filters on a small stream: pikepdf decodes (their expansion is bounded)
        try:
            data = stream.read_bytes()
        except pikepdf.PdfError:
            return b"", True
        return data[:limit], len(data) <= limit
    return raw[:0], False


def active_content(pdf: pikepdf.Pdf) -> set[str]:
    """Names of the active content found anywhere in the PDF (see walk_pdf)."""
    return walk_pdf(pdf).active


def unembedded_fonts(pdf: pikepdf.Pdf) -> list[str]:
    """Base names of the fonts pages use without embedding them (usability check)."""
    missing: set[str] = set()
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", {}).get("/Font", {})
        for font in fonts.values() if isinstance(fonts, pikepdf.Dictionary) else ():
            if not _font_embedded(font):
                missing.add(str(font.get("/BaseFont", "?")).lstrip("/"))
    return sorted(missing)


def _font_embedded(font) -> bool:
    if font.get("/Subtype") == pikepdf.Name.Type3:
        return True   # glyphs are content streams
    if font.get("/Subtype") == pikepdf.Name.Type0:
        descendants = font.get("/DescendantFonts")
        if not descendants:
            return False
        font = descendants[0]
    descriptor = font.get("/FontDescriptor")
    return descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


# -- images: a pixel budget from the memory budget, checked before decoding -------
#
# Pillow's Image.open reads only the header: width, height and mode are
# known before a pixel is decoded. JPEGs and plain PNGs are embedded by
# img2pdf as they are, so they are never decoded whole: a JPEG is test-decoded
# at 1/8 scale (1/64 of the memory), a PNG's deflate stream is inflated into
# nothing, chunk by chunk. What must be decoded (TIFF, interlaced or
# transparent PNG) is charged to one process-wide budget: an image past it is
# refused, and decodes that fit wait for each other instead of adding up.

DECODE_MEMORY_BYTES = 256 * 1024 * 1024


class _Budget:
    """A weighted semaphore: reserve(n) waits until n bytes of the budget are free."""

    def __init__(self, total: int):
        import threading
        self.total, self.used = total, 0
        self.cond = threading.Condition()

    def reserve(self, amount: int, timeout: float = 120):
        import contextlib

        @contextlib.contextmanager
        def held():
            with self.cond:
                if not self.cond.wait_for(lambda: self.used + amount <= self.total, timeout):
                    raise Problem(503, "busy", "服务繁忙", "正在处理的图像过多，请稍后重试。")
                self.used += amount
            try:
                yield
            finally:
                with self.cond:
                    self.used -= amount
                    self.cond.notify_all()
        return held()


_decoding = _Budget(DECODE_MEMORY_BYTES)


def _pixel_bytes(mode: str) -> int:
    """Bytes per pixel in Pillow's memory (not in the file): 1 for 1/L/P, 2 for I;16, else 4."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def image_header(path: Path) -> None:
    """Refuse past the frame and pixel limits, from the header alone."""
    try:
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1)
            if frames > MAX_FRAMES:
                raise refused(f"图像页数过多（超过 {MAX_FRAMES} 页）。")
            for index in range(frames):
                img.seek(index)
                if img.width * img.height > MAX_PIXELS:
                    raise refused(f"图像像素过多（{img.width}×{img.height}），超过 {MAX_PIXELS} 像素的上限。")
    except Image.DecompressionBombError:
        raise refused(f"图像像素过多，超过 {MAX_PIXELS} 像素的上限。")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise refused("图像文件已损坏，无法解码。", f"图像文件已损坏：{exc}")


def image_to_pdf(path: Path) -> tuple[bytes, int]:
    """A scan as PDF pages, losslessly (img2pdf embeds JPEG as is, PNG/TIFF
    without recompression); EXIF orientation respected; the scan's DPI kept
    (an A4 scan comes out A4), a scan without DPI fitted to A4."""
    try:
        with Image.open(path) as img:
            kind = img.format
            frames = getattr(img, "n_frames", 1)
            if frames > MAX_FRAMES:
                raise refused(f"图像页数过多（超过 {MAX_FRAMES} 页）。")
            largest = 0
            for index in range(frames):
                img.seek(index)
                if img.width * img.height > MAX_PIXELS:
                    raise refused(f"图像像素过多（{img.width}×{img.height}），超过 {MAX_PIXELS} 像素的上限。")
                largest = max(largest, img.width * img.height * _pixel_bytes(img.mode))
            img.seek(0)
            dpi = img.info.get("dpi")
            alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
            if kind == "JPEG":
                cost = largest // 64 + 1
            elif kind == "PNG" and not alpha and not _png_interlaced(path):
                cost = 0
            else:   # decoded whole; flattening holds the RGBA image, the RGB page and its PNG
                cost = largest * (3 if alpha else 2)
            if cost > DECODE_MEMORY_BYTES:
                budget = DECODE_MEMORY_BYTES // ((3 if alpha else 2) * _pixel_bytes(img.mode))
                raise refused(f"图像像素过多（{img.width}×{img.height}，{img.mode}），超过内存预算允许的 "
                              f"{budget} 像素：请以 JPEG 或不透明、非隔行的 PNG 上传，或降低分辨率。")
            with _decoding.reserve(cost):
                if kind == "JPEG":
                    img.draft(img.mode, (max(1, img.width // 8), max(1, img.height // 8)))
                    img.load()        # a truncated scan fails here, at 1/64 of the memory
                elif cost:
                    for index in range(frames):
                        img.seek(index)
                        img.load()
                flattened = _flatten(img) if alpha and frames == 1 else None
                # img2pdf reads EXIF orientation with getexif(), which makes Pillow decode a whole
                # PNG whose eXIf chunk (if any) was not before the pixels: PNG scans almost never
                # carry an orientation, so one without EXIF up front is taken as it is.
                plain_png = kind == "PNG" and "exif" not in img.info
                kwargs = {"rotation": img2pdf.Rotation.none if plain_png else img2pdf.Rotation.ifvalid}
                if not dpi or min(float(d) for d in dpi) < 50:
                    kwargs["layout_fun"] = img2pdf.get_layout_fun(A4_POINTS, fit=img2pdf.FitMode.into, auto_orient=True)
                try:
                    pdf = img2pdf.convert(flattened if flattened is not None else str(path), **kwargs)
                except img2pdf.AlphaChannelError:
                    raise refused("多页图像含透明通道，请去除透明后上传。")
                except Problem:
                    raise
                except Exception as exc:   # img2pdf raises plain exceptions for odd colour spaces
                    raise refused("图像无法无损转换为 PDF 页面。", f"图像无法转换：{exc}")
    except Image.DecompressionBombError:
        raise refused(f"图像像素过多，超过 {MAX_PIXELS} 像素的上限。")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise refused("图像文件已损坏，无法解码。", f"图像文件已损坏：{exc}")
    return pdf, frames


def _png_interlaced(path: Path) -> bool:
    with open(path, "rb") as fh:
        header = fh.read(29)
    return len(header) < 29 or header[28] != 0


def _flatten(img: Image.Image) -> bytes:
    """Transparency on white, kept lossless as PNG (img2pdf refuses alpha channels)."""
    rgba = img.convert("RGBA")
    page = Image.new("RGB", rgba.size, "white")
    page.paste(rgba, mask=rgba.split()[-1])
    out = io.BytesIO()
    page.save(out, "PNG", dpi=img.info.get("dpi") or (72, 72))
    return out.getvalue()


def media_duration(path: Path, fmt: str) -> float | None:
    """Duration in seconds where mutagen knows the format; a file of such a format it cannot read is corrupt."""
    if fmt not in MUTAGEN_FORMATS:
        return None
    import mutagen
    try:
        media = mutagen.File(path)
    except Exception as exc:   # mutagen raises its own error classes per format
        raise refused("音视频文件已损坏，无法读取。", f"音视频文件已损坏：{exc}")
    if media is None or getattr(media, "info", None) is None:
        raise refused("音视频文件已损坏，无法读取。")
    length = getattr(media.info, "length", None)
    if fmt == "wav" and length:       # from the data chunk present (truncation is refused before)
        rate = getattr(media.info, "sample_rate", 0) * getattr(media.info, "channels", 0) * \
            max(1, getattr(media.info, "bits_per_sample", 8) // 8)
        length = _wav_data_bytes(path) / rate if rate else length
    return check_duration(path, fmt, round(float(length), 3) if length else None)


def _wav_data_bytes(path: Path) -> int:
    with open(path, "rb") as fh:
        header = fh.read(1 << 16)
    at = header.find(b"data", 12)
    return int.from_bytes(header[at + 4:at + 8], "little") if at >= 0 else 0


# -- PDF/A: the rules that matter, checked with pikepdf ---------------------------
#
# veraPDF cannot be installed here. These are the rules of ISO 19005 whose
# breach loses content or lets a file act: what is checked is listed in
# `rules`, so a report never claims more than it looked at.

PDFA_RULES = {
    "claim": "XMP 中 pdfaid:part / pdfaid:conformance 存在、取值有效且与 PDF 版本相符",
    "output_intent": "有 GTS_PDFA1 输出意图并嵌入 ICC 描述文件",
    "fonts": "页面使用的字体均已嵌入",
    "encryption": "未加密",
    "active": "无 JavaScript、启动等主动内容",
    "transparency": "PDF/A-1 不含透明组与软蒙版",
    "embedded_files": "嵌入文件：PDF/A-1 不允许；PDF/A-2 仅限 PDF；PDF/A-3 须有 AFRelationship",
}


@dataclass
class PdfA:
    claim: str                  # e.g. "3B"; "" when the file does not claim PDF/A
    rules: list[str]            # keys of PDFA_RULES that were checked
    problems: list[str]         # Chinese, one per broken rule

    @property
    def conforms(self) -> bool:
        return not self.problems


def pdfa_conformance(pdf: pikepdf.Pdf, graph: PdfGraph | None = None) -> PdfA:
    """The PDF/A rules above. A file that does not claim PDF/A is checked
    on the content rules only (fonts, encryption, active content): the
    document-level ones are the assembled file's."""
    try:     # no /Metadata, no claim (a scan): skip building an XMP object, 0.1 ms of every item's check
        claim = ("/Metadata" in pdf.Root and
                 pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False).pdfa_status) or ""
    except Exception:   # an XMP packet that does not parse is no claim (reported below when the Info says otherwise)
        claim = ""
    problems: list[str] = []
    rules = ["fonts", "encryption", "active"]
    if pdf.is_encrypted:
        problems.append("文件已加密")
    graph = graph or walk_pdf(pdf)
    if graph.active:
        problems.append(f"含主动内容（{'、'.join(sorted(graph.active))}）")
    missing = unembedded_fonts(pdf)
    if missing:
        problems.append(f"字体未嵌入（{'、'.join(missing[:5])}）")
    if not claim:
        return PdfA("", rules, problems)
    rules = list(PDFA_RULES)
    part, level = claim[:-1], claim[-1:]
    version = float(pdf.pdf_version or "0")
    if part not in ("1", "2", "3", "4") or level not in ("A", "B", "U", "E", "F") or (part == "1" and level == "U"):
        problems.append(f"pdfaid 声明无效（{claim}）")
    elif (part == "1" and version > 1.4) or (part in ("2", "3") and version > 1.7):
        problems.append(f"PDF/A-{part} 不允许 PDF {pdf.pdf_version} 版本")
    intents = pdf.Root.get("/OutputIntents")
    if part != "4" and not any(isinstance(i, pikepdf.Dictionary) and i.get("/S") == pikepdf.Name.GTS_PDFA1
                               and i.get("/DestOutputProfile") is not None for i in (intents or [])):
        problems.append("缺少 GTS_PDFA1 输出意图或其 ICC 描述文件")
    specs = [o for o in pdf.objects if isinstance(o, pikepdf.Dictionary) and "/EF" in o]
    if specs and part == "1":
        problems.append("PDF/A-1 不允许嵌入文件")
    elif specs and part == "2":
        problems.append("PDF/A-2 仅允许嵌入 PDF/A 文件") if any(
            not _decoded_head(ef, 8)[0].startswith(b"%PDF-") for s in specs for ef in s.EF.values()
            if isinstance(ef, pikepdf.Stream)) else None
    elif specs and part in ("3", "4"):
        bare = [_text(s.get("/UF", s.get("/F"))) or "?" for s in specs if "/AFRelationship" not in s]
        if bare:
            problems.append(f"嵌入文件缺少 AFRelationship（{'、'.join(bare[:5])}）")
    if part == "1":
        for obj in pdf.objects:
            d = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
            if not isinstance(d, pikepdf.Dictionary):
                continue
            group = d.get("/Group")
            smask = d.get("/SMask")
            if (isinstance(group, pikepdf.Dictionary) and group.get("/S") == pikepdf.Name.Transparency) or \
                    (smask is not None and smask != pikepdf.Name("/None")):
                problems.append("PDF/A-1 不允许透明组或软蒙版")
                break
    return PdfA(claim, rules, problems)


# -- containers: what lies past the end, what hides inside --------------------------
#
# A JPEG+ZIP polyglot shows a photo to a viewer and an archive to an unzipper:
# each format's own structure is walked to its end marker (JPEG EOI, PNG IEND,
# the last MP4 box, the RIFF size, PDF %%EOF, a TIFF's strips and IFDs), and
# anything past it is refused, as are archive signatures where a reader
# would find them (a ZIP's end record in the last 64 KB, RAR/7z headers, a
# PE executable, a ZIP local header in image metadata).

ZIP_LOCAL, ZIP_END = b"PK\x03\x04", b"PK\x05\x06"
ARCHIVE_SIGNATURES = {b"Rar!\x1a\x07": "RAR 压缩包", b"7z\xbc\xaf\x27\x1c": "7z 压缩包"}
MAX_TRAILING_JPEGS = 8           # multi-picture (MPF) JPEGs carry their extra images after the first EOI
MIN_BYTES_PER_SECOND = 125       # 1 kbit/s: below any real audio or video codec
HIDDEN = "文件中藏有{}（多格式伪装文件），未予接收。"
TRAILING = "{}结束标记之后附有其他数据（可能藏有压缩包或程序），未予接收。"


def hidden_payload(path: Path, fmt: str) -> str | None:
    """Why the file's structure is refused (hidden or appended content, a
    truncated or unplayable container), or None."""
    import mmap
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        size = len(data)
        if data.find(ZIP_END, max(0, size - 65557)) >= 0:
            return HIDDEN.format("ZIP 压缩包")
        if fmt != "pdf":      # a PDF's streams are checked by the object walk
            for signature, name in ARCHIVE_SIGNATURES.items():
                if data.find(signature) >= 0:
                    return HIDDEN.format(name)
            if _has_pe(data):
                return HIDDEN.format("可执行程序")
        if fmt == "jpeg":
            return _jpeg_problem(data)
        if fmt == "png":
            return _png_problem(data)
        if fmt == "tiff":
            return _tiff_problem(path, data)
        if fmt == "pdf":
            end = data.rfind(b"%%EOF")
            if end < 0:
                return "PDF 文件已损坏或不完整（缺少文件结束标记）。"
            if data[end + 5:].strip(b"\x00\t\n\f\r ") != b"":
                return TRAILING.format("PDF 文件")
            return None
        if fmt in ("mp4", "mov", "m4a"):
            return _mp4_problem(data)
        if fmt in ("wav", "avi"):
            return _riff_problem(data, fmt)
    return None


def _has_pe(data) -> bool:
    """An MZ header whose e_lfanew points at "PE\\0\\0": a Windows program."""
    pos = data.find(b"MZ")
    while pos >= 0:
        if pos + 64 <= len(data):
            offset = int.from_bytes(data[pos + 60:pos + 64], "little")
            if 64 <= offset < 4096 and data[pos + offset:pos + offset + 4] == b"PE\0\0":
                return True
        pos = data.find(b"MZ", pos + 2)
    return False


def _jpeg_problem(data) -> str | None:
    start = 0
    for _ in range(MAX_TRAILING_JPEGS):
        end, problem = _jpeg_end(data, start)
        if problem:
            return problem
        rest = data[end:end + 3]
        if rest == b"\xff\xd8\xff":       # a further image of a multi-picture file
            start = end
            continue
        tail = data[end:]
        return None if tail.strip(b"\x00\xff") == b"" else TRAILING.format("JPEG 图像")
    return TRAILING.format("JPEG 图像")


def _jpeg_end(data, pos: int) -> tuple[int, str | None]:
    """(offset past EOI, problem) of the JPEG starting at pos."""
    n = len(data)
    corrupt = (0, "JPEG 图像结构损坏或不完整。")
    pos += 2
    while pos + 2 <= n:
        if data[pos] != 0xFF:
            return corrupt
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            return pos + 2, None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        if pos + 4 > n:
            return corrupt
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if length < 2 or pos + 2 + length > n:
            return corrupt
        if (0xE0 <= marker <= 0xEF or marker == 0xFE) and data.find(ZIP_LOCAL, pos + 4, pos + 2 + length) >= 0:
            return 0, HIDDEN.format("ZIP 压缩包")
        pos += 2 + length
        if marker == 0xDA:       # entropy-coded data runs to the next marker that is not RSTn or a stuffed 00
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    return corrupt
                following = data[pos + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos += 2
                elif following == 0xFF:
                    pos += 1
                else:
                    break
    return corrupt


def _png_problem(data) -> str | None:
    """Walk the chunks: CRCs, IDAT inflated into nothing (bounded), nothing after IEND."""
    import zlib
    n = len(data)
    corrupt = "PNG 图像结构损坏或不完整。"
    if n < 33 or data[12:16] != b"IHDR":
        return corrupt
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour, interlace = data[24], data[25], data[28]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour)
    if channels is None:
        return corrupt
    expected = height * (1 + (width * channels * depth + 7) // 8)
    inflater, produced, pos = zlib.decompressobj(), 0, 8
    piece = 1 << 20
    while True:
        if pos + 12 > n:
            return corrupt
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        body_end = pos + 8 + length
        if body_end + 4 > n:
            return corrupt
        crc = zlib.crc32(kind)
        for at in range(pos + 8, body_end, piece):
            chunk = data[at:min(at + piece, body_end)]
            crc = zlib.crc32(chunk, crc)
            if kind == b"IDAT":
                try:
                    produced += len(inflater.decompress(chunk, piece))
                    while inflater.unconsumed_tail:
                        produced += len(inflater.decompress(inflater.unconsumed_tail, piece))
                except zlib.error:
                    return corrupt
                if produced > expected:
                    return corrupt
        if crc & 0xFFFFFFFF != int.from_bytes(data[body_end:body_end + 4], "big"):
            return corrupt
        if kind not in (b"IDAT", b"IHDR", b"PLTE", b"IEND") and data.find(ZIP_LOCAL, pos + 8, body_end) >= 0:
            return HIDDEN.format("ZIP 压缩包")
        pos = body_end + 4
        if kind == b"IEND":
            break
    if not inflater.eof or (interlace == 0 and produced != expected):
        return corrupt
    return None if pos == n else TRAILING.format("PNG 图像")


def _tiff_problem(path: Path, data) -> str | None:
    """Past the last strip/tile and IFD, at most a little (out-of-line tag
    values), and never an archive header."""
    end = 8
    try:
        with Image.open(path) as img:
            for index in range(getattr(img, "n_frames", 1)):
                img.seek(index)
                tags = img.tag_v2
                offsets = tags.get(273) or tags.get(324) or ()
                counts = tags.get(279) or tags.get(325) or ()
                end = max([end, *(o + c for o, c in zip(offsets, counts))])
                frame_pos = getattr(img, "_frame_pos", [0])[index] if hasattr(img, "_frame_pos") else 0
                end = max(end, frame_pos + 2 + 12 * len(tags) + 4)
    except (OSError, SyntaxError, ValueError, EOFError, TypeError):
        return "TIFF 图像结构损坏。"
    if data.find(ZIP_LOCAL, end) >= 0:
        return HIDDEN.format("ZIP 压缩包")
    if len(data) - end > 1024 * 1024:
        return TRAILING.format("TIFF 图像")
    return None


def _mp4_problem(data) -> str | None:
    """Top-level boxes tile the file exactly; a playable file has moov and mdat."""
    n, pos, kinds = len(data), 0, set()
    while pos < n:
        if pos + 8 > n:
            return "MP4 文件结构不完整（末尾有残缺的数据）。"
        size, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        if size == 1:
            if pos + 16 > n:
                return "MP4 文件结构不完整。"
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        elif size == 0:
            size = n - pos
        if size < 8 or pos + size > n:
            return f"MP4 文件不完整或附有其他数据（{kind.decode('latin-1')!r} 框超出文件末尾）。"
        kinds.add(kind)
        pos += size
    if b"moov" not in kinds or b"mdat" not in kinds:
        return "MP4 文件缺少影片信息（moov）或媒体数据（mdat），无法播放。"
    return None


def _riff_problem(data, fmt: str) -> str | None:
    n = len(data)
    declared = int.from_bytes(data[4:8], "little") + 8
    if declared > n:
        return f"{fmt.upper()} 文件不完整（声明 {declared} 字节，实有 {n} 字节）。"
    if n - declared > 1:        # one pad byte is allowed
        return TRAILING.format(f"{fmt.upper()} 文件")
    if fmt == "wav":
        pos = 12
        while pos + 8 <= declared:
            kind, size = bytes(data[pos:pos + 4]), int.from_bytes(data[pos + 4:pos + 8], "little")
            if pos + 8 + size > declared:
                return f"WAV 文件不完整（{kind.decode('latin-1').strip()} 块声明 {size} 字节，超出文件末尾）。"
            pos += 8 + size + (size & 1)
    return None


def check_duration(path: Path, fmt: str, duration: float | None) -> float | None:
    """The duration a header declares, if the bytes present can hold it."""
    if duration is None:
        return None
    size = path.stat().st_size
    if fmt == "wav":     # exact: the data chunk at the format's byte rate
        return duration if duration <= size else _refuse_duration(duration, size)
    if duration * MIN_BYTES_PER_SECOND > size:
        _refuse_duration(duration, size)
    return duration


def _refuse_duration(duration: float, size: int):
    raise refused(f"文件声明的时长（{duration:.0f} 秒）与其大小（{size} 字节）不符：文件头不可信或文件不完整。")
