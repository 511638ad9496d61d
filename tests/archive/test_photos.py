"""Photo evidence is mounted on A4 sheets with its caption (照片说明: 题名, 拍摄时间,
拍摄地点, 拍摄人, 证明对象), aspect ratio and EXIF rotation kept, numbered like any
content page: camera images of any size as well as prints smaller than A4; a
page that already is an A4 sheet is bound as it is. A photo whose caption is
incomplete is listed by the integrity check (sealing needs a reason); a wrong
caption is refused naming the field. Checked on the sealed file: page sizes,
pdftotext, pdfimages and the rendered sheet's pixels.
(Carried over from h-archive-records onto main's mounting: one photo a sheet.)"""
from __future__ import annotations

import io
import subprocess
from types import SimpleNamespace

import pikepdf
import pytest
from PIL import Image, ImageDraw

from services.archive.assembly import A4_PT, missing_caption, mounts_photo, some
from tests.archive import samples
from tests.archive.conftest import download_sealed, open_case, upload
from tests.conftest import auth

ARCHIVIST = auth("archivist")
CAPTION = {"taken_at": "2026-03-10 09:30", "place": "鞍山市铁东区胜利南路 18 号（经营场所）", "photographer": "张伟",
           "proves": "经营场所设有冷藏设施，布局与申请材料一致"}


def photo(width: int, height: int, colour: str = "#1f6fb2", exif_orientation: int | None = None) -> bytes:
    """A camera-like JPEG (72 dpi, as cameras write: 1600 pixels make a 56 cm page): a solid colour with
    a white cross, so the rendered photo's extent and proportions can be measured."""
    img = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(img)
    draw.line([(0, height // 2), (width, height // 2)], fill="white", width=max(2, height // 60))
    draw.line([(width // 2, 0), (width // 2, height)], fill="white", width=max(2, width // 60))
    out = io.BytesIO()
    exif = Image.Exif()
    if exif_orientation:
        exif[0x0112] = exif_orientation
    img.save(out, "JPEG", dpi=(72, 72), quality=85, exif=exif.tobytes())
    return out.getvalue()


def text_of(path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def render(path, page: int, out_prefix, dpi: int = 60) -> Image.Image:
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile", str(path),
                    str(out_prefix)], check=True)
    return Image.open(f"{out_prefix}.png").convert("RGB")


def colour_box(img: Image.Image, rgb: tuple[int, int, int], tolerance: int = 40) -> tuple[int, int, int, int] | None:
    """Bounding box of the pixels near `rgb`."""
    px = img.load()
    xs, ys = [], []
    for y in range(img.height):
        for x in range(img.width):
            r, g, b = px[x, y]
            if abs(r - rgb[0]) < tolerance and abs(g - rgb[1]) < tolerance and abs(b - rgb[2]) < tolerance:
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


@pytest.fixture
def photo_case(archive):
    app, client = archive
    case = open_case(client, archive_number="A012-2026-Y-0101", decision_number="鞍审批许〔2026〕9号")
    uploads = [
        ("门头.jpg", photo(1600, 1200, "#1f6fb2"), {"title": "经营场所门头", "date": "2026-03-10", **CAPTION}),
        # Stored landscape, EXIF 6: shown (and mounted) portrait; full-width digits and a T in the time.
        ("冷柜.jpg", photo(1600, 1200, "#2e8b57", exif_orientation=6),
         {"title": "冷藏设施", **CAPTION, "taken_at": "２０２６-03-10T09:41"}),
        # No time, no date, no 证明对象: listed by the check.
        ("后厨.jpg", photo(1600, 900, "#b22222"), {"title": "后厨布局", "place": "后厨", "photographer": "张伟"}),
        # An A4 sheet scanned at 100 dpi: already a 照片档案 page, bound as it is.
        ("照片档案页.jpg", samples.scan_jpeg(text="SHEET"), {"title": "照片档案页", "date": "2026-03-11"}),
    ]
    for name, data, meta in uploads:
        resp = upload(client, case["id"], name, data, {"kind": "evidence", "category": "photo",
                                                      "author": "社会事务审批科", **meta}, "image/jpeg")
        assert resp.status_code == 201, resp.get_json()
    return app, client, case


def test_camera_photos_are_mounted_on_a4_with_their_captions(photo_case, tmp_path):
    _, client, case = photo_case
    body = client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()
    assert sorted(tuple(i["page_range"]) for i in body["items"]) == [(1, 1), (2, 2), (3, 3), (4, 4)]
    shown = {i["title"]: i["caption"] for i in body["items"]}
    assert shown["冷藏设施"]["taken_at"] == "2026-03-10 09:41" and shown["照片档案页"] is None

    checks = client.get(f"/v1/case-files/{case['id']}/checks", headers=ARCHIVIST).get_json()
    captions = next(c for c in checks["checks"] if c["id"] == "photo_captions")
    assert not captions["passed"] and not checks["passed"]
    assert "后厨布局（缺拍摄时间、证明对象）" in captions["detail"] and "经营场所门头" not in captions["detail"]
    assert "冷藏设施" not in captions["detail"] and "照片档案页" not in captions["detail"]   # a sheet needs no caption
    assert client.post(f"/v1/case-files/{case['id']}/seal", headers=ARCHIVIST).status_code == 409
    resp = client.post(f"/v1/case-files/{case['id']}/seal", json={"override_reason": "后厨照片的拍摄时间待核实"},
                       headers=ARCHIVIST)
    assert resp.status_code == 202, resp.get_json()
    sealed, path = download_sealed(client, case["id"], tmp_path)
    order = [i["title"] for i in sealed["items"]]
    page = {title: order.index(title) + 3 for title in order}        # cover, contents, then one page each

    with pikepdf.open(path) as pdf:
        for n in range(2, 6):
            w, h = (float(v) for v in pdf.pages[n].mediabox[2:])
            assert abs(w - A4_PT[0]) < 2 and abs(h - A4_PT[1]) < 2 and int(pdf.pages[n].obj.get("/Rotate", 0)) == 0
    for title in ("经营场所门头", "冷藏设施", "后厨布局"):     # the camera's JPEG itself, not re-encoded
        images = subprocess.run(["pdfimages", "-f", str(page[title]), "-l", str(page[title]), "-list", str(path)],
                                capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        assert len(images) == 1 and images[0].split()[8] == "jpeg", images

    first = text_of(path, page["经营场所门头"]).replace(" ", "")
    for label in ("照片说明", "题名", "拍摄时间", "拍摄地点", "拍摄人", "证明对象"):
        assert label in first
    assert "经营场所门头" in first and "2026031009:30" in first and "张伟" in first and "冷藏设施，布局" in first
    assert "2026031009:41" in text_of(path, page["冷藏设施"]).replace(" ", "")       # full-width digits, T: normalised
    kitchen = text_of(path, page["后厨布局"]).replace(" ", "")
    assert "后厨布局" in kitchen and "社会事务审批科" not in kitchen               # the author is not the photographer
    assert "照片说明" not in text_of(path, page["照片档案页"])
    # Page numbers as on other content pages.
    for title, number in page.items():
        lines = [line.strip() for line in text_of(path, number).splitlines() if line.strip()]
        assert str(number - 2) in lines[0], (title, lines[:2])

    # Rendered: each photo keeps its proportions (EXIF rotation applied) and stays inside the margins,
    # above its caption.
    sheet = render(path, page["经营场所门头"], tmp_path / "sheet1")
    box = colour_box(sheet, (0x1f, 0x6f, 0xb2))
    assert abs((box[2] - box[0] + 1) / (box[3] - box[1] + 1) - 4 / 3) < 0.05, box
    portrait = colour_box(render(path, page["冷藏设施"], tmp_path / "sheet2"), (0x2e, 0x8b, 0x57))
    assert abs((portrait[2] - portrait[0] + 1) / (portrait[3] - portrait[1] + 1) - 3 / 4) < 0.05, portrait
    wide = colour_box(render(path, page["后厨布局"], tmp_path / "sheet3"), (0xb2, 0x22, 0x22))
    assert abs((wide[2] - wide[0] + 1) / (wide[3] - wide[1] + 1) - 16 / 9) < 0.06, wide
    for b in (box, portrait, wide):
        assert b[0] >= 15 / 25.4 * 60 and b[2] <= sheet.width - 15 / 25.4 * 60 and b[3] < sheet.height * 195 / 297


@pytest.mark.parametrize("meta, field", [
    ({"taken_at": "2026-02-30"}, "meta/taken_at"),                      # no such day
    ({"taken_at": "昨天下午"}, "meta/taken_at"),
    ({"taken_at": "2099-01-01 10:00"}, "meta/taken_at"),                 # in the future
    ({"taken_at": "2026-03-10 25:10"}, "meta/taken_at"),
    ({"taken_at": "2026-03-25 10:00"}, "meta/taken_at"),                 # after the file was closed (一案一卷)
    ({"place": "   "}, "meta/place"),
    ({"photographer": "　"}, "meta/photographer"),                      # an ideographic space is blank too
    ({"photographer": "x" * 101}, "meta/photographer"),
    ({"lens": "50mm"}, "meta"),
    ({"proves": "\u202e明证"}, "meta/proves"),                           # bidi control: printed text would differ
])
def test_a_wrong_caption_is_refused_naming_the_field_and_nothing_is_stored(archive, meta, field):
    _, client = archive
    case = open_case(client, archive_number="A012-2026-Y-0102", decision_number="鞍审批许〔2026〕9号",
                     closed_on="2026-03-20")
    resp = upload(client, case["id"], "p.jpg", photo(400, 300), {"title": "照片", "kind": "evidence",
                                                                 "category": "photo", **meta}, "image/jpeg")
    assert resp.status_code == 422, resp.get_json()
    paths = [e["path"] for e in resp.get_json()["errors"]]
    assert any(p.startswith(field) for p in paths), paths
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"] == []


def test_a_caption_on_something_that_is_not_a_photo_is_refused(archive):
    _, client = archive
    case = open_case(client, archive_number="A012-2026-Y-0103", decision_number="鞍审批许〔2026〕9号")
    resp = upload(client, case["id"], "p.jpg", photo(400, 300), {"title": "营业执照", "kind": "evidence",
                                                                 "category": "identity", **CAPTION}, "image/jpeg")
    assert resp.status_code == 422 and resp.get_json()["errors"][0]["path"].startswith("meta/"), resp.get_json()
    assert client.get(f"/v1/case-files/{case['id']}", headers=ARCHIVIST).get_json()["items"] == []


def test_which_photos_are_mounted_and_what_their_captions_lack():
    def item(category="photo", fmt="jpeg", caption=None, date=None):
        return SimpleNamespace(category=category, format=fmt, caption=caption, date=date, title="照片")
    a4, a4_landscape = [(595.3, 841.9)], [(842, 595)]
    assert not mounts_photo(item(), a4) and not mounts_photo(item(), a4_landscape)   # a scanned sheet
    assert mounts_photo(item(), [(432, 324)])                                       # a 6x4.5 in print
    assert mounts_photo(item(), [(1600, 1200)])                                     # a camera image at 72 dpi
    assert not mounts_photo(item(fmt="pdf"), [(1191, 1684)])                        # an A2 PDF is no photo print
    assert mounts_photo(item(fmt="pdf"), [(432, 324)])
    assert not mounts_photo(item(category="identity"), [(432, 324)])
    assert missing_caption(item()) == ["拍摄时间", "拍摄地点", "拍摄人", "证明对象"]
    assert missing_caption(item(date="2026-03-01")) == ["拍摄地点", "拍摄人", "证明对象"]   # 时间: the item's date
    assert missing_caption(item(caption=CAPTION)) == []


def test_a_long_list_is_summed_up():
    """The back note prints every failed check's detail: 250 uncaptioned scans made it three pages."""
    names = [f"现场照片{n}" for n in range(1, 251)]
    text = some(names, "；")
    assert text.startswith("现场照片1；") and "现场照片10等 250 件" in text and "现场照片11" not in text
    assert some(names[:3]) == "现场照片1、现场照片2、现场照片3"
