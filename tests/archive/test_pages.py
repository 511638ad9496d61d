"""The archivist's pages in a real browser (Debian's chromium driven by
Playwright): sign in, open a case file, upload a scan, read the checks,
seal with a reason, download; plus the cookie, CSRF and CSP rules."""
from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from tests.archive import samples
from shared.web import serve
from tests.conftest import TOKENS

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


@pytest.fixture
def served(archive):
    """The archive app served by the real waitress server (shared.web.serve) from a thread."""
    app, _ = archive
    bound, stop = queue.Queue(), threading.Event()
    thread = threading.Thread(target=serve, args=(app, "127.0.0.1", 0),
                              kwargs={"signals": False, "stop": stop, "threads": 4,
                                      "ready": lambda host, port: bound.put(port)}, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{bound.get(timeout=10)}"
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (deploy/setup.sh installs it)")
def test_archivist_seals_a_case_file_in_the_browser(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright
    app, base = served
    scan = tmp_path / "scan.jpg"
    scan.write_bytes(samples.scan_jpeg())
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(java_script_enabled=False, accept_downloads=True)
        csp = []
        page.on("console", lambda msg: csp.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(base + "/")
        page.fill("#token", "wrong")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_contain_text("令牌无效")
        page.fill("#token", TOKENS["archivist"])
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("案卷列表")
        cookie = next(c for c in page.context.cookies() if c["name"] == "zhifa_archive")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        for field, value in {"archive_number": "A012-2026-Y-0300", "fonds": "A012", "fonds_name": "鞍山市行政审批局",
                             "title": "鞍山示例商贸有限公司食品经营许可案", "party": "鞍山示例商贸有限公司",
                             "decision_number": "鞍审批许准字〔2026〕第30号", "handling_unit": "社会事务审批科",
                             "compiled_by": "王敏", "checked_by": "李强"}.items():
            page.fill(f"#{field}", value)
        page.fill("#opened_on", "2026-03-02")
        page.fill("#closed_on", "2026-03-20")
        page.click("text=建立案卷 >> nth=-1")
        expect(page.locator(".flash.ok")).to_contain_text("已建立案卷")
        page.set_input_files("#file", str(scan))
        page.fill("#title", "营业执照复印件")
        page.fill("#date", "2026-03-02")
        page.click("button:has-text('上传')")
        expect(page.locator(".flash.ok")).to_contain_text("已上传：营业执照复印件（1 页）")
        page.set_input_files("#file", str(Path(__file__)))       # a Python file: refused, with the reason
        page.fill("#title", "脚本")
        page.click("button:has-text('上传')")
        expect(page.locator(".flash.error").first).to_contain_text("文件未予接收")
        expect(page.locator("td.fail").first).to_be_visible()                     # checks with their reasons
        expect(page.locator("text=缺少：受理通知书")).to_be_visible()
        page.screenshot(path=str(SHOTS / "archive-case-file.png"), full_page=True)
        page.fill("#override_reason", "纸质受理通知书与决定书另卷归档，经科长批准先行封存。")
        page.click("text=封存案卷")
        expect(page.locator(".flash.ok")).to_contain_text("已提交封存")
        for _ in range(100):
            if "已封存" in page.locator("h1").inner_text():
                break
            page.wait_for_timeout(300)
            page.reload()
        expect(page.locator("h1 .status")).to_have_text("已封存")
        with page.expect_download() as download:
            page.click("text=下载封存的 PDF")
        assert download.value.suggested_filename == "A012-2026-Y-0300.pdf"
        assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
        page.screenshot(path=str(SHOTS / "archive-sealed.png"), full_page=True)
        assert not csp, csp
        browser.close()


def test_forms_without_the_csrf_token_are_refused(served):
    import httpx
    _, base = served
    with httpx.Client(base_url=base) as client:
        client.get("/login")
        resp = client.post("/login", data={"token": TOKENS["archivist"], "csrf": "forged"})
        assert resp.status_code == 400
        page = client.get("/login")
        assert "Content-Security-Policy" in page.headers and "script-src" not in page.headers["Content-Security-Policy"]
        assert client.get("/case-files", follow_redirects=False).status_code == 302
