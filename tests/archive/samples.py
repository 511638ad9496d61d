"""Sample files for the archive's tests, made on the fly: scans, PDFs, audio."""
from __future__ import annotations

import io
import struct
import wave
import zlib
from pathlib import Path

from PIL import Image, ImageDraw


def scan_jpeg(dpi: int = 100, orientation: int | None = None, landscape: bool = False, text: str = "SCAN") -> bytes:
    """An A4 'scan' at `dpi` (small dpi keeps tests fast), with an EXIF orientation if given."""
    w, h = round(210 / 25.4 * dpi), round(297 / 25.4 * dpi)
    if landscape:
        w, h = h, w
    img = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([w // 10, h // 10, w // 2, h // 5], fill="black")   # a dark block top left
    draw.text((w // 10, h // 4), text, fill="black")
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img.save(out, "JPEG", dpi=(dpi, dpi), quality=80, exif=exif.tobytes())
    return out.getvalue()


def png(width: int = 400, height: int = 300, alpha: bool = False, dpi: int | None = 150) -> bytes:
    img = Image.new("RGBA" if alpha else "RGB", (width, height), (200, 30, 30, 128) if alpha else "white")
    out = io.BytesIO()
    img.save(out, "PNG", **({"dpi": (dpi, dpi)} if dpi else {}))
    return out.getvalue()


def simple_pdf(pages: int = 2, text: str = "Evidence") -> bytes:
    import pikepdf
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for n in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(f"BT /F1 24 Tf 100 700 Td ({text} {n + 1}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(rate)
        w.writeframes(bytes([128]) * int(seconds * rate))
    return out.getvalue()


def png_bomb(side: int = 20000) -> bytes:
    """A tiny PNG that declares side×side pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = zlib.compress(b"\x00" * (side // 8 + 1) * 64, 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", raw) + chunk(b"IEND", b""))


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path
