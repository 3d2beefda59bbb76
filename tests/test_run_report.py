"""The HTML run report: charts as inline SVG, no script, no CDN, counts only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from warehouse_io import run_into

from flows.pipeline import RunSummary
from flows.run_report import write_run_report
from mdm.testbed.generate import generate


def _summary() -> RunSummary:
    return RunSummary(
        run_id="3f0c2a9e-0000-4000-8000-000000000001",
        rows_read={"branch": 1492, "app": 1355},
        quarantined={"branch": 7, "app": 8},
        quarantine_reasons={
            "branch": {"id_number_valid": 5, "record_id_unique": 2},
            "app": {"mobile_valid": 8},
        },
        customers_total=2030,
        tasks_opened=15,
        timings={"ingest": 1.2, "validate": 1.3, "dedupe": 1.3, "load": 2.2},
    )


def test_the_run_report_has_its_charts_inline_and_needs_no_network(tmp_path: Path) -> None:
    path = write_run_report(_summary(), tmp_path)
    assert path == tmp_path / "3f0c2a9e-0000-4000-8000-000000000001" / "run.html"
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)=["']https?:""", page)
    assert '<td data-fact="rows read">2,847</td>' in page
    assert '<td data-fact="quarantined">15 (0.5%)</td>' in page
    for label in ("ingest", "dedupe", "branch", "app", "record_id_unique", "mobile_valid"):
        assert f">{label}<" in page  # axis and legend labels are SVG text


def test_the_run_report_shows_what_steward_decisions_taught(tmp_path: Path) -> None:
    summary = _summary()
    summary.labels = {
        "matches": 47,
        "non_matches": 20,
        "lower": {"configured": 0.8, "learnt": 0.874},
        "held_out_check": {"matches": 8, "matches_merged": 5},
        "weight_changes": [
            {"comparison": "mobile", "level": "different", "before": -4.68, "after": -0.95}
        ],
    }
    page = write_run_report(summary, tmp_path).read_text(encoding="utf-8")
    fact = '<td data-fact="steward decisions learnt from">47 same person, 20 not'
    assert fact in page and "0.8 → 0.874" in page
    assert "<th>mobile · different</th><td>-4.68</td><td>-0.95</td>" in page
    assert "matches merged 5" in page
    assert "steward decisions" not in write_run_report(_summary(), tmp_path / "b").read_text(
        encoding="utf-8"
    )


@pytest.mark.browser
@pytest.mark.usefixtures("prefect_harness")
def test_a_run_writes_its_report_and_chromium_shows_the_charts(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright
    from test_browser import CHROMIUM, CHROMIUM_ARGS

    sources = tmp_path / "channels"
    generate(sources, customers=30, seed=6)
    summary = run_into(sources, sqlite_url, monkeypatch, tmp_path)
    page_path = tmp_path / "reports" / summary.run_id / "run.html"
    assert page_path.is_file()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(page_path.as_uri())
        assert page.locator("figure svg").count() == 2
        read = sum(summary.rows_read.values())
        assert page.locator('[data-fact="rows read"]').inner_text() == f"{read:,}"
        box = page.locator("#stage-times svg").bounding_box()
        assert box is not None and box["width"] > 100
        browser.close()
    assert requests == [page_path.as_uri()]  # nothing fetched beyond the page itself
