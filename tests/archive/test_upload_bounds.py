"""Uploads that lie about themselves: polyglots (an image, PDF or media
file with an archive or program appended or hidden in its metadata), media
whose header promises more than the bytes hold or that cannot play, and
small images that would decode into gigabytes. Each is refused with a
problem naming `file`; honest files of the same kinds pass; four parallel
10000×10000 PNGs stay within the memory budget."""
from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from PIL import Image

from services.archive import inspection
from shared.problems import Problem
from tests.archive import samples

ROOT = Path(__file__).resolve().parents[2]


def zip_with_exe() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", b"MZ" + b"\x00" * 200)
    return out.getvalue()


def pe_program() -> bytes:
    header = bytearray(b"MZ" + b"\x00" * 126)
    header[60:64] = (128).to_bytes(4, "little")
    return bytes(header) + b"PE\x00\x00" + b"\x00" * 64


def tiff() -> bytes:
    out = io.BytesIO()
    Image.new("L", (300, 400), 200).save(out, "TIFF", dpi=(100, 100))
    return out.getvalue()


def png_with_chunk(kind: bytes, data: bytes) -> bytes:
    clean = samples.png()
    chunk = struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    end = clean.rindex(b"IEND") - 4
    return clean[:end] + chunk + clean[end:]


def jpeg_with_comment(comment: bytes) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(samples.scan_jpeg())).save(out, "JPEG", comment=comment, dpi=(100, 100))
    return out.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


FTYP = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")


def mp4_declaring(seconds: int) -> bytes:
    """ftyp + moov (an mvhd with timescale 1 and the given duration) + a tiny mdat."""
    mvhd = box(b"mvhd", b"\x00\x00\x00\x00" + struct.pack(">IIII", 0, 0, 1, seconds) + b"\x00\x01\x00\x00"
               + b"\x01\x00" + b"\x00" * 10 + b"\x00" * 36 + b"\x00" * 24 + struct.pack(">I", 2))
    return FTYP + box(b"moov", mvhd) + box(b"mdat", b"\x00" * 16)


def wav_declaring(data_bytes: int, present: int, rate: int = 8000) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate, 1, 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body + b"\x80" * present


POLYGLOTS = [
    ("photo.jpg", lambda: samples.scan_jpeg() + zip_with_exe(), "ZIP"),
    ("photo.jpg", lambda: samples.scan_jpeg() + b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64, "RAR"),
    ("photo.jpg", lambda: samples.scan_jpeg() + b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64, "7z"),
    ("photo.jpg", lambda: samples.scan_jpeg() + pe_program(), "可执行程序"),
    ("photo.jpg", lambda: samples.scan_jpeg() + b"<script>alert(1)</script>", "结束标记之后"),
    ("photo.jpg", lambda: jpeg_with_comment(b"PK\x03\x04\x14\x00\x00\x00payload.exe"), "ZIP"),
    ("scan.png", lambda: samples.png() + zip_with_exe(), "ZIP"),
    ("scan.png", lambda: samples.png() + b"\x00hidden bytes", "结束标记之后"),
    ("scan.png", lambda: png_with_chunk(b"tEXt", b"Comment\x00PK\x03\x04\x14\x00payload.exe"), "ZIP"),
    ("scan.tif", lambda: tiff() + zip_with_exe(), "ZIP"),
    ("scan.pdf", lambda: samples.simple_pdf(1) + zip_with_exe(), "ZIP"),
    ("scan.pdf", lambda: samples.simple_pdf(1) + b"MZ" + b"\x00" * 300, "结束标记之后"),
    ("record.wav", lambda: samples.wav(1) + zip_with_exe(), "ZIP"),
    ("record.wav", lambda: samples.wav(1) + b"appended", "结束标记之后"),
    ("video.mp4", lambda: mp4_declaring(10) + b"\x00" * 3 + b"appended data", "超出文件末尾"),
]

MEDIA = [
    ("truncated.wav", lambda: wav_declaring(80_000, 8_000), "不完整"),
    ("streaming.wav", lambda: wav_declaring(0xFFFFFF00, 1000), "不完整"),
    ("header-only.mp4", lambda: FTYP + b"\x00" * 4, "不完整"),
    ("empty-movie.mp4", lambda: FTYP + box(b"free", b"\x00" * 4), "moov"),
    ("no-data.mp4", lambda: FTYP + box(b"moov", b""), "mdat"),
    ("forever.mp4", lambda: mp4_declaring(4_294_967_295), "时长"),
]


def refusal(tmp_path: Path, name: str, data: bytes) -> Problem:
    path = samples.write(tmp_path, "upload", data)
    with pytest.raises(Problem) as caught:
        inspection.inspect(path, len(data), name, "application/octet-stream")
    assert caught.value.status == 422 and caught.value.errors[0].path == "file"
    return caught.value


@pytest.mark.parametrize("name,make,word", POLYGLOTS, ids=[f"{n}-{w}" for n, _, w in POLYGLOTS])
def test_polyglots_and_appended_data_are_refused(tmp_path, name, make, word):
    problem = refusal(tmp_path, name, make())
    assert word in problem.errors[0].message, problem.errors[0].message


@pytest.mark.parametrize("name,make,word", MEDIA, ids=[n for n, _, _ in MEDIA])
def test_media_that_cannot_play_or_lies_about_its_length_is_refused(tmp_path, name, make, word):
    problem = refusal(tmp_path, name, make())
    assert word in problem.errors[0].message, problem.errors[0].message


def accepted(tmp_path: Path, name: str, data: bytes):
    path = samples.write(tmp_path, name, data)
    return inspection.inspect(path, len(data), name, "application/octet-stream")


def test_honest_files_of_the_same_kinds_pass(tmp_path):
    assert accepted(tmp_path, "a.jpg", samples.scan_jpeg() + b"\x00" * 32).pages == 1       # padding is fine
    assert accepted(tmp_path, "b.jpg", samples.scan_jpeg() + samples.scan_jpeg(dpi=20)).pages == 1   # MPF-style
    assert accepted(tmp_path, "c.png", samples.png(alpha=True)).pages == 1
    assert accepted(tmp_path, "d.tif", tiff()).pages == 1
    assert accepted(tmp_path, "e.pdf", samples.simple_pdf(2) + b"\r\n").pages == 2
    assert accepted(tmp_path, "f.wav", samples.wav(2.5)).duration_seconds == 2.5
    assert accepted(tmp_path, "g.mp4", mp4_declaring(1) + box(b"free", b"\x00" * 200)).duration_seconds == 1


def big_png(mode: str, interlace: bool = False) -> bytes:
    """10000×10000 pixels, mostly white: a few hundred KB on disk."""
    img = Image.new(mode, (10000, 10000), "white")
    img.paste("black" if mode != "RGBA" else (0, 0, 0, 255), (1000, 1000, 9000, 1200))
    out = io.BytesIO()
    img.save(out, "PNG", dpi=(300, 300), compress_level=1, **({"interlace": 1} if interlace else {}))
    return out.getvalue()


def test_images_that_would_decode_past_the_budget_are_refused_before_decoding(tmp_path):
    for data in (big_png("RGBA"),):
        started = time.monotonic()
        problem = refusal(tmp_path, "big.png", data)
        assert "内存预算" in problem.errors[0].message and time.monotonic() - started < 3
    out = io.BytesIO()
    Image.new("RGB", (6000, 6000), "white").save(out, "TIFF", compression="tiff_lzw")
    assert "内存预算" in refusal(tmp_path, "big.tif", out.getvalue()).errors[0].message


def test_four_parallel_10000_square_pngs_stay_within_the_memory_budget(tmp_path):
    """Measured in a fresh process: four threads inspect the same kind of
    upload at once (the archive serves uploads on threads)."""
    paths = []
    for n in range(4):
        paths.append(samples.write(tmp_path, f"big{n}.png", big_png("RGB")))
    script = textwrap.dedent(f"""
        import json, time, threading
        from pathlib import Path
        from services.archive import inspection
        def hwm():   # VmHWM: ru_maxrss would carry over the parent's peak across fork+exec
            return int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
        base = hwm()
        pages, started = [], time.monotonic()
        def one(path):
            pages.append(inspection.inspect(Path(path), Path(path).stat().st_size, "big.png", "image/png").pages)
        threads = [threading.Thread(target=one, args=(p,)) for p in {[str(p) for p in paths]!r}]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(json.dumps({{"pages": pages, "seconds": time.monotonic() - started,
                           "peak_mb": hwm(), "base_mb": base}}))
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    print("4 parallel 10000x10000 PNG:", figures, f"({len(paths[0].read_bytes()) // 1024} KB each)")
    assert figures["pages"] == [1, 1, 1, 1]
    assert figures["peak_mb"] - figures["base_mb"] < 250 and figures["peak_mb"] < 500, figures
