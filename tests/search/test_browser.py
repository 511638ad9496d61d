"""The citizens' pages in a real browser: Debian's chromium driven by
Playwright (it cannot download its own browsers here). Search, filter by a
facet, open a decision, verify a generated document's QR link; no script
runs (strict CSP), keyboard alone reaches the search; screenshots of a phone
and a desktop viewport are kept under the test's tmp dir."""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import auth
from tests.search.conftest import LICENSE, PENALTY, PERSON_PENALTY, decision
from tests.search.test_generator_link import issue, qr_link

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")
SHOTS = Path(os.environ.get("ZHIFA_SCREENSHOTS", "")) if os.environ.get("ZHIFA_SCREENSHOTS") else None


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def shot(page, tmp_path: Path, name: str) -> None:
    target = (SHOTS or tmp_path)
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 900}],
                         ids=["phone", "desktop"])
def test_search_filter_open_and_verify(live, browser, tmp_path, viewport):
    generator, search = live
    for body in (PENALTY, LICENSE, PERSON_PENALTY, decision(PENALTY, number="鞍审批罚决字〔2026〕第3号",
                                                             party={**PENALTY["party"], "name": "<script>alert(1)</script>商行"})):
        assert httpx.post(f"{search.url}/v1/decisions", json=body, headers=auth("publisher")).status_code == 201
    doc = issue(generator.url, "penalty_decision")
    errors: list[str] = []
    context = browser.new_context(viewport=viewport, locale="zh-CN", java_script_enabled=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append("dialog: " + d.message))
    name = "phone" if viewport["width"] < 500 else "desktop"

    page.goto(search.url + "/")
    assert page.title().startswith("决定检索")
    form = page.get_by_role("search", name="检索执法决定")
    assert form.is_visible()
    # keyboard only: skip link, then into the search box
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.get_by_label("关键词").focus()
    page.keyboard.type("罚款")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q="))
    heading = page.locator("#results-heading").inner_text()
    assert "共找到 3 件决定" in heading
    if name == "phone":      # the filters come before the results on a phone
        assert page.locator(".facets").bounding_box()["y"] < page.locator(".results").bounding_box()["y"]
    assert page.locator("mark").first.inner_text() == "罚款"
    assert page.locator(".hit h3").filter(has_text="行政处罚决定书").count() == 3
    assert "<script>alert(1)</script>商行" in page.content().replace("&lt;", "<").replace("&gt;", ">")
    shot(page, tmp_path, f"{name}-results")

    page.get_by_role("link", name=re.compile("^行政处罚$")).click()            # facet
    assert "kind=penalty" in page.url
    assert "共找到 3 件决定" in page.locator("#results-heading").inner_text()
    page.get_by_label("关键词").fill("白酒")
    page.get_by_role("button", name="检索").click()
    assert "共找到 1 件决定" in page.locator("#results-heading").inner_text()

    page.locator(".hit h3 a").first.click()
    assert page.get_by_role("heading", level=1).inner_text() == "行政处罚决定书"
    body = page.locator("main").inner_text()
    assert "刘某" in body and "刘洋" not in body and "210302198001011233" not in body
    assert "【身份证号码已隐去】" in body
    shot(page, tmp_path, f"{name}-decision")

    page.goto(qr_link(generator.url, doc["id"]))
    assert "核验通过" in page.get_by_role("status").inner_text()
    assert doc["number"] in page.locator("main").inner_text()
    shot(page, tmp_path, f"{name}-verify")

    page.goto(search.url + "/stats?year=" + PENALTY["decided_on"][:4])
    chart = page.locator("svg.chart:visible")
    assert chart.count() == 1 and chart.is_visible()
    # The chart's words and numbers are drawn at a readable size on this screen (not scaled to 5 px).
    smallest = page.evaluate("""Math.min(...[...document.querySelectorAll('svg.chart text')]
        .map(t => t.getBoundingClientRect().height).filter(h => h > 0))""")
    assert smallest >= 10, smallest
    assert page.get_by_role("table").first.is_visible()
    months = page.locator("table.monthly tbody th")                  # "10月" on one line, as high as "1月"
    assert months.nth(9).bounding_box()["height"] == months.nth(0).bounding_box()["height"]
    shot(page, tmp_path, f"{name}-stats")

    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert errors == []

    # A wrong date typed into the address: the page names the field in plain words and keeps what was typed.
    response = page.goto(search.url + "/?q=%E7%BD%9A%E6%AC%BE&from=2024-13-01")
    assert response.status == 422
    alert = page.get_by_role("alert").inner_text()
    assert "决定日期自" in alert and "请求数据" not in alert and "errors" not in alert
    assert page.locator("#from").input_value() == "2024-13-01"
    assert page.locator("#from").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("关键词").input_value() == "罚款"
    shot(page, tmp_path, f"{name}-error")

    # nothing overflows a phone's width; no script ran, nothing failed but the page's own 422
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert [e for e in errors if "422" not in e] == []
    context.close()
