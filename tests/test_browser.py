"""A steward works tasks in a real browser (headless system Chromium through Playwright), and the
decisions hold after the pipeline runs again."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
import uvicorn
from helpers.browser import CHROMIUM, CHROMIUM_ARGS
from helpers.stewardship import customer_task, set_tier
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy.orm import Session

from flows.pipeline import RunSettings, run_pipeline
from mdm.testbed.generate import generate
from warehouse.models import CustomerXref, StewardTask
from web.app import create_app
from web.auth import add_user

PASSWORD = "steward password 1"

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("prefect_harness")]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def workbench(sqlite_url: str) -> Iterator[str]:
    """The workbench served over HTTP in a thread, as `mdm serve` serves it."""
    app = create_app(sqlite_url)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    app.state.engine.dispose()


def run(sources: Path, url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run the pipeline in a thread of its own: Playwright's sync API keeps an event loop running
    in this one, and Prefect would then hand back un-awaited coroutines."""
    monkeypatch.setenv("MDM_WAREHOUSE_URL", url)
    monkeypatch.setenv("MDM_REPORTS_DIR", str(tmp_path / "reports"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        summary = pool.submit(run_pipeline, RunSettings(sources_dir=sources, build_docs=False))
        assert summary.result().customers_total > 0


def first_open(url: str, task_type: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        task_id = connection.execute(
            sa.text(
                "SELECT min(task_id) FROM steward_task WHERE status = 'open' AND task_type = :t"
            ),
            {"t": task_type},
        ).scalar_one()
    engine.dispose()
    assert task_id is not None, f"the generated data opened no {task_type} task"
    return int(task_id)


def open_task_from_queue(page: Page, base: str, task_type: str, task_id: int) -> None:
    page.goto(f"{base}/?type={task_type}")
    page.click(f"a[href='/tasks/{task_id}']")
    expect(page.locator("#status")).to_have_text("open")


def test_a_steward_works_tasks_and_the_decisions_hold(
    browser: Browser,
    workbench: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    sources = tmp_path / "channels"
    generate(sources, customers=150, seed=11)
    run(sources, sqlite_url, monkeypatch, tmp_path)
    engine = sa.create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        add_user(session, username="li", password=PASSWORD, role="steward")
    third_kind = "compliance" if first_open_or_none(sqlite_url, "compliance") else "incomplete"
    match, conflict, other = (
        first_open(sqlite_url, kind) for kind in ("possible_match", "conflict", third_kind)
    )

    page = browser.new_page()
    page.goto(workbench)
    expect(page).to_have_url(f"{workbench}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Steward tasks")

    open_task_from_queue(page, workbench, "possible_match", match)
    expect(page.locator("text=Match probability")).to_be_visible()
    page.click("#confirm")
    expect(page.locator("#status")).to_have_text("resolved")

    open_task_from_queue(page, workbench, "conflict", conflict)
    page.locator("input[name=value]").first.check()
    page.click("#choose")
    expect(page.locator("#status")).to_have_text("resolved")

    open_task_from_queue(page, workbench, third_kind, other)
    page.locator("form:has(#dismiss) textarea").fill("handled with the branch; follow up in May")
    page.click("#dismiss")
    expect(page.locator("#status")).to_have_text("dismissed")

    run(sources, sqlite_url, monkeypatch, tmp_path)  # the next run applies the decisions

    with Session(engine) as session:
        pair = session.get(StewardTask, match).details  # type: ignore[union-attr]
        owners = {
            session.get(CustomerXref, tuple(key.split(":", 1))).customer_id  # type: ignore[union-attr]
            for key in (pair["left"], pair["right"])
        }
        chosen_customer = session.get(StewardTask, conflict).customer_id  # type: ignore[union-attr]
    assert len(owners) == 1  # the confirmed pair is one customer now
    page.goto(f"{workbench}/tasks/{match}")
    expect(page.locator("#status")).to_have_text("resolved")
    expect(page.locator("#decisions")).to_contain_text("confirm_match")
    page.goto(f"{workbench}/tasks/{conflict}")
    expect(page.locator("#status")).to_have_text("resolved")
    page.goto(f"{workbench}/customers/{chosen_customer}")
    expect(page.locator("#audit")).to_contain_text("choose_value")
    expect(page.locator("#golden")).to_contain_text("steward:")
    page.goto(f"{workbench}/tasks/{other}")
    expect(page.locator("#status")).to_have_text("dismissed")
    engine.dispose()


def first_open_or_none(url: str, task_type: str) -> bool:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT count(*) FROM steward_task WHERE status = 'open' AND task_type = :t"),
            {"t": task_type},
        ).scalar_one()
    engine.dispose()
    return bool(found)


def test_runs_page_and_a_run_report_show_what_pipeline_run_holds(
    browser: Browser,
    workbench: str,
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = tmp_path / "channels"
    generate(sources, customers=150, seed=11)
    run(sources, sqlite_url, monkeypatch, tmp_path)
    run(sources, sqlite_url, monkeypatch, tmp_path)  # a second run: the trends have two points
    engine = sa.create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        add_user(session, username="li", password=PASSWORD, role="viewer")
        stored = session.execute(
            sa.text("SELECT run_id, counts FROM pipeline_run ORDER BY started_at")
        ).all()
    engine.dispose()
    assert len(stored) == 2
    first_id, first_counts = stored[0][0], json.loads(stored[0][1])

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{workbench}/login")
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("header >> text=Runs")
    expect(page.locator("h1")).to_have_text("Runs")
    rows = page.locator("#runs tr")
    expect(rows).to_have_count(3)  # the header and two runs
    newest = rows.nth(1).locator("td")
    newest_counts = json.loads(stored[1][1])
    held = sum(newest_counts["quarantined"].get(c, 0) for c in newest_counts["rows_read"])
    assert newest.nth(3).inner_text() == f"{held:,}"  # customer rows, as the run page counts
    assert newest.nth(4).inner_text() == f"{newest_counts['customers_total']:,}"
    assert newest.nth(7).inner_text() == f"{newest_counts['tasks_open']:,}"
    for figure in ("trend-quarantine", "trend-duplicates", "trend-backlog", "trend-stages"):
        box = page.locator(f"#{figure} svg").bounding_box()
        assert box is not None and box["width"] > 300, figure
    if os.environ.get("MDM_SCREENSHOTS"):
        page.screenshot(path=os.environ["MDM_SCREENSHOTS"] + "/runs_page.png", full_page=True)

    page.click(f'a[href="/runs/{first_id}"]')
    read = sum(first_counts["rows_read"].values())
    expect(page.locator('[data-fact="rows read"]')).to_have_text(f"{read:,}")
    expect(page.locator('[data-fact="steward tasks opened"]')).to_have_text(
        f"{first_counts['tasks_opened']:,}"
    )
    assert page.locator("figure svg").count() == 7
    legend = page.locator("#match-weights").inner_text()  # SVG text inside the figure
    assert "upper 0.99" in legend and "lower 0.8" in legend
    expect(page.locator("#merge-precision")).to_contain_text("not enough verdicts")
    # what other thresholds would do, from the run's stored scores
    page.fill("#what-if-upper", "0.9999")
    page.fill("#what-if-lower", "0.5")
    page.click("#what-if-go")
    table = page.locator("#what-if-table")
    expect(table).to_contain_text("possible-match tasks")
    merges = first_counts["merge_audit"]["merges"]
    expect(table.locator("tr").nth(1).locator("td").first).to_have_text(f"{merges:,}")
    if os.environ.get("MDM_SCREENSHOTS"):
        page.screenshot(path=os.environ["MDM_SCREENSHOTS"] + "/run_report.png", full_page=True)


def sign_in(browser: Browser, base: str, username: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Steward tasks")
    return page


def test_a_platinum_customers_split_waits_for_a_second_steward_and_holds(
    browser: Browser,
    workbench: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    sources = tmp_path / "channels"
    generate(sources, customers=150, seed=11)
    run(sources, sqlite_url, monkeypatch, tmp_path)
    engine = sa.create_engine(sqlite_url)
    with Session(engine) as session, session.begin():
        for name in ("li", "wang"):
            add_user(session, username=name, password=PASSWORD, role="steward")
        owner = (
            sa.select(CustomerXref.customer_id)
            .group_by(CustomerXref.customer_id)
            .having(sa.func.count() >= 2)
            .limit(1)
        )
        customer_id = session.execute(owner).scalar_one()
        set_tier(session, customer_id, "platinum")
        task_id = customer_task(session, customer_id, "browser")
        keys = sorted(
            f"{x.source_system}:{x.source_record_id}"
            for x in session.scalars(
                sa.select(CustomerXref).where(CustomerXref.customer_id == customer_id)
            )
        )

    maker = sign_in(browser, workbench, "li")
    maker.goto(f"{workbench}/tasks/{task_id}")
    maker.check(f"input[name=records][value='{keys[-1]}']")
    maker.locator("form:has(#split) textarea").fill("a twin: two ID cards seen")
    maker.click("#split")
    expect(maker.locator("#status")).to_have_text("pending")
    expect(maker.locator("#pending")).to_be_visible()
    maker.goto(f"{workbench}/approvals")
    change = maker.locator("[id^=change-]")
    expect(change).to_contain_text("platinum customer")
    expect(change.locator("button")).to_have_count(0)  # no Approve for the maker
    # nor does the server take it from the maker by hand
    token = maker.locator("header input[name=csrf_token]").input_value()
    change_id = (change.get_attribute("id") or "").removeprefix("change-")
    refused = maker.request.post(
        f"{workbench}/approvals/{change_id}/approve", form={"csrf_token": token}
    )
    assert refused.status == 400 and "a second steward checks it" in refused.text()
    with Session(engine) as session:
        assert {session.get(CustomerXref, tuple(k.split(":", 1))).customer_id for k in keys} == {  # type: ignore[union-attr]
            customer_id
        }

    checker = sign_in(browser, workbench, "wang")
    checker.goto(f"{workbench}/approvals")
    checker.click(f"#change-{change_id} button[value=approve]")
    expect(checker.locator("#none")).to_be_visible()
    checker.goto(f"{workbench}/tasks/{task_id}")
    expect(checker.locator("#status")).to_have_text("resolved")
    expect(checker.locator("#decisions")).to_contain_text("split_customer")

    run(sources, sqlite_url, monkeypatch, tmp_path)  # the next run keeps the split
    with Session(engine) as session:
        owners = [session.get(CustomerXref, tuple(k.split(":", 1))).customer_id for k in keys]  # type: ignore[union-attr]
    assert owners[-1] != customer_id and set(owners[:-1]) == {customer_id}
    engine.dispose()
