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
    "bin", "elf", "so", "dylib", "app", "apk", "hta", "cpl", "lnk", "py", "pl", "rb"})
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
            active = active_content(pdf)
            pages = len(pdf.pages)
            unembedded = unembedded_fonts(pdf)
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


ACTIVE_KEYS = {"/JS": "JavaScript", "/JavaScript": "JavaScript"}
ACTIVE_ACTIONS = {"/JavaScript": "JavaScript", "/Launch": "启动外部程序的动作", "/ImportData": "导入数据动作",
                  "/RichMediaExecute": "富媒体执行动作"}


def active_content(pdf: pikepdf.Pdf) -> set[str]:
    """Names of the active content found in any object of the PDF."""
    found: set[str] = set()
    for obj in pdf.objects:
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            continue
        keys = set(obj.keys())
        found.update(name for key, name in ACTIVE_KEYS.items() if key in keys)
        action = obj.get("/S")
        if isinstance(action, pikepdf.Name) and str(action) in ACTIVE_ACTIONS:
            found.add(ACTIVE_ACTIONS[str(action)])
        if obj.get("/Type") == pikepdf.Name.EmbeddedFile and isinstance(obj, pikepdf.Stream):
            if executable_magic(obj.read_bytes()[:16]):
                found.add("嵌入的可执行文件")
        if obj.get("/Type") == pikepdf.Name.Filespec:
            name = str(obj.get("/UF", obj.get("/F", "")))
            if PurePosixPath(name.lower()).suffix.lstrip(".") in EXECUTABLE_EXTENSIONS:
                found.add("嵌入的可执行文件")
    return found


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


def image_to_pdf(path: Path) -> tuple[bytes, int]:
    """A scan as PDF pages, losslessly (img2pdf embeds JPEG as is, PNG/TIFF
    without recompression); EXIF orientation respected; the scan's DPI kept
    (an A4 scan comes out A4), a scan without DPI fitted to A4."""
    try:
        with Image.open(path) as img:
            frames = getattr(img, "n_frames", 1)
            if frames > MAX_FRAMES:
                raise refused(f"图像页数过多（超过 {MAX_FRAMES} 页）。")
            for index in range(frames):
                img.seek(index)
                if img.width * img.height > MAX_PIXELS:
                    raise refused(f"图像像素过多（{img.width}×{img.height}），超过 {MAX_PIXELS} 像素的上限。")
            img.seek(0)
            dpi = img.info.get("dpi")
            alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
            for index in range(frames):   # decode every frame: a truncated scan fails here
                img.seek(index)
                img.load()
            flattened = _flatten(img) if alpha and frames == 1 else None
    except Image.DecompressionBombError:
        raise refused(f"图像像素过多，超过 {MAX_PIXELS} 像素的上限。")
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise refused("图像文件已损坏，无法解码。", f"图像文件已损坏：{exc}")
    kwargs = {"rotation": img2pdf.Rotation.ifvalid}
    if not dpi or min(float(d) for d in dpi) < 50:
        kwargs["layout_fun"] = img2pdf.get_layout_fun(A4_POINTS, fit=img2pdf.FitMode.into, auto_orient=True)
    try:
        pdf = img2pdf.convert(flattened if flattened is not None else str(path), **kwargs)
    except img2pdf.AlphaChannelError:
        raise refused("多页图像含透明通道，请去除透明后上传。")
    except Exception as exc:   # img2pdf raises plain exceptions for odd colour spaces
        raise refused("图像无法无损转换为 PDF 页面。", f"图像无法转换：{exc}")
    return pdf, frames


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
    return round(float(length), 3) if length else None
