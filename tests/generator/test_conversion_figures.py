"""The PDF conversion's figures on /metrics, read off a real LibreOffice."""
from __future__ import annotations

from tests.conftest import auth
from tests.generator.test_api import example, post


def figure(text: str, name: str) -> float:
    lines = [line for line in text.splitlines() if line.startswith(name) and not line.startswith("#")]
    assert lines, f"{name} missing from /metrics"
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_metrics_split_a_conversion_into_loading_and_exporting(sqlite_generator):
    """An operator sees where LibreOffice spends a PDF's time: loading the
    DOCX (import and layout) and exporting the PDF/A, and that the two add up
    to no more than the conversions' total."""
    _, client = sqlite_generator
    before = client.get("/metrics", headers=auth("admin")).get_data(as_text=True)
    assert figure(before, 'zhifa_pdf_stage_seconds_total{stage="load"}') == 0
    for kind in ("penalty_decision", "rectification_order"):
        resp = post(client, {"type": kind, "data": example(kind)})
        assert resp.status_code == 201 and resp.get_json()["files"]["pdf"]["status"] == "done"
    after = client.get("/metrics", headers=auth("admin")).get_data(as_text=True)
    load = figure(after, 'zhifa_pdf_stage_seconds_total{stage="load"}')
    export = figure(after, 'zhifa_pdf_stage_seconds_total{stage="export"}')
    total = figure(after, "zhifa_pdf_conversion_seconds_total")
    assert load > 0 and export > 0
    assert load + export <= total
