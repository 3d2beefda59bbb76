"""The HTML run report: charts as inline SVG, no script, no CDN, counts only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.warehouse_io import run_into

from flows.pipeline import RunSummary
from flows.run_report import StoredRun, trend_rows, write_run_report
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
    assert page.count("<svg") == 7  # every chart drawn, empty ones with a "(none)" bar
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
        "review": {
            "em_review": 40,
            "taught_review": 31,
            "removed": 12,
            "removed_merged": 5,
            "removed_below_lower": 7,
            "added": 3,
        },
    }
    page = write_run_report(summary, tmp_path).read_text(encoding="utf-8")
    assert "decisions removed in this run: 12 (5 now merged, 7 below the learnt threshold)" in page
    assert "added: 3." in page
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
    from helpers.browser import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

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
        assert page.locator("figure svg").count() == 7
        read = sum(summary.rows_read.values())
        assert page.locator('[data-fact="rows read"]').inner_text() == f"{read:,}"
        box = page.locator("#stage-times svg").bounding_box()
        assert box is not None and box["width"] > 100
        browser.close()
    assert requests == [page_path.as_uri()]  # nothing fetched beyond the page itself


def test_trends_follow_successful_runs_oldest_first() -> None:
    import datetime as dt

    def stored(run_id: str, day: int, status: str, quarantined: int, merges: int) -> StoredRun:
        counts = {
            "rows_read": {"branch": 1000},
            "quarantined": {"branch": quarantined},
            "merges": merges,
            "customers_total": 1000 - quarantined - merges,
            "tasks_open": 10 * day,
        }
        started = dt.datetime(2026, 12, day, 2, tzinfo=dt.UTC)
        return StoredRun(run_id, status, started, counts, {"dedupe": 1.0, "load": 2.0})

    rows = trend_rows(
        [
            stored("b", 2, "success", 20, 100),
            stored("a", 1, "success", 10, 90),
            stored("x", 3, "failed", 0, 0),
        ]
    )
    assert [row["run"] for row in rows] == ["2026-12-01 02:00:00", "2026-12-02 02:00:00"]
    assert rows[0]["quarantine rate"] == pytest.approx(0.01)
    assert rows[1]["duplicate rate"] == pytest.approx(100 / 980)
    assert rows[1]["open steward tasks"] == 20 and rows[1]["stage load"] == 2.0


@pytest.mark.usefixtures("prefect_harness")
def test_a_run_stores_its_profile_and_the_workbench_shows_it_without_personal_data(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from warehouse.models import PipelineRun
    from web.app import create_app
    from web.auth import add_user

    sources = tmp_path / "channels"
    generate(sources, customers=40, seed=6)
    summary = run_into(sources, sqlite_url, monkeypatch, tmp_path, build_docs=False)
    engine = sa.create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        counts = session.get(PipelineRun, summary.run_id).counts
        add_user(session, username="viewer", password="a long password 1", role="viewer")
    engine.dispose()
    profile = counts["match_profile"]
    assert sum(profile["weights"]["pairs"]) == profile["pairs_scored"] > 0
    clustered = sum(int(s.rstrip("+")) * n for s, n in profile["cluster_sizes"].items())
    assert clustered == summary.customers_total + summary.merges
    assert sum(profile["merges_by_rule"].values()) >= summary.merges > 0
    assert sum(counts["segment_sizes"]["value_tier"].values()) == summary.customers_total
    assert counts["tasks_open"] == summary.tasks_opened  # a first run: all its tasks are open

    app = create_app(sqlite_url)
    with TestClient(app) as client:
        login = client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        client.post(
            "/login",
            data={"username": "viewer", "password": "a long password 1", "csrf_token": token},
        )
        listing = client.get("/runs")
        page = client.get(f"/runs/{summary.run_id}")
        missing = client.get("/runs/no-such-run")
    app.state.engine.dispose()
    assert listing.status_code == 200 and f'href="/runs/{summary.run_id}"' in listing.text
    assert listing.text.count("<svg") == 4  # quarantine, duplicates, backlog, stage times
    assert page.status_code == 200 and page.text.count("<svg") == 7
    assert missing.status_code == 404
    secrets: set[str] = set()
    for path in [*sources.glob("*.csv"), *sources.glob("*.jsonl")]:
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030")  # the branch export
        secrets.update(re.findall(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dX])(?!\d)", text))
    assert secrets and not [v for v in secrets if v in page.text or v in listing.text]


def test_the_run_report_shows_the_audit_of_automatic_merges(tmp_path: Path) -> None:
    summary = _summary()
    summary.merge_audit = {
        "sample_size": 30,
        "seed": 0,
        "merges": 1_130,
        "bands": [
            {"band": 0, "low": 6.63, "high": 10.63, "population": 130, "sampled": 10},
            {"band": 1, "low": 10.63, "high": None, "population": 1_000, "sampled": 20},
        ],
    }
    page = write_run_report(summary, tmp_path).read_text(encoding="utf-8")
    # a run's own report is written before any verdict
    assert "Estimated precision of automatic merges: not enough verdicts (0 of at least 10" in page
    assert "<tr><th>6.6 to 10.6</th><td>130</td><td>10</td><td>0</td><td>0</td></tr>" in page
    assert "<th>10.6 and up</th><td>1,000</td>" in page
