"""How fast the steward queue answers with 200,000 open tasks, and a bulk action on 100,000.
Usage:

    python -m bench.queue                     # SQLite file in a temporary folder
    python -m bench.queue --warehouse postgresql+psycopg://postgres@127.0.0.1:5432/test

Fills an empty warehouse (on PostgreSQL a new schema of the given database, dropped
afterwards) with customers and open tasks of every type, signs a steward in, and times every
queue view (the first screen, filtered, searched, paged, one's own work, what is overdue)
through the whole web stack; prints p50/p95 per view and fails when a p95 is at or above
300 ms. Then a bulk action on 100,000 tasks as a steward makes it (confirm or not-a-match on
the possible matches, dismiss on the rest): proposed, it waits for a second steward (it is
over MDM_FOUR_EYES_BULK), who approves it; and an assignment of 100,000 tasks. Each fails at
30 s or more.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mdm.customer_ids import format_customer_id
from mdm.stewardship import approvals
from mdm.stewardship.actions import assign_tasks
from mdm.stewardship.tasks import DUE_DAYS, due_on, task_rule
from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Customer, StewardDecision, StewardTask
from web.app import create_app
from web.auth import add_user
from web.limits import SearchLimit

BUDGET_MS = 300.0
BULK_BUDGET_S = 30.0
BULK_TASKS = 100_000
TYPES = ("possible_match", "conflict", "incomplete", "invalid", "compliance")
CHANNELS = ("branch", "app", "fund", "callcenter", "thirdparty")
PASSWORD = "bench password"  # noqa: S105 - a throwaway user of a throwaway warehouse
# What the dedupe and enrich flows put in `details`, one example per type.
DETAILS: dict[str, dict[str, Any]] = {
    "possible_match": {"left": "branch:1", "right": "app:2", "match_probability": 0.93},
    "conflict": {
        "field": "birth_date",
        "values": [{"value": "1990-01-02"}, {"value": "1990-02-01"}],
    },
    "incomplete": {"field": "mobile", "rule": "mobile_present", "message": "no mobile on file"},
    "invalid": {
        "record": "branch:1",
        "field": "id_number",
        "rule": "id_number_valid",
        "message": "ID number is malformed or its check digit is wrong",
    },
    "compliance": {
        "rule": "risk_assessment_expired",
        "message": "risk assessment is older than 365 days",
    },
}
PAGES = {
    "oldest first": "/",
    "by priority": "/?sort=priority",
    "one type": "/?type=conflict",
    "one channel": "/?channel=app",
    "page 1000": "/?page=1000",
    "search a name": "/?q=王伟",
    "search a phone": "/?q=13800000042",
    "one rule": "/?type=compliance&rule=risk_assessment_expired",
    "one branch": "/?branch=B007",
    "one manager": "/?rm=RM13",
    "my work": "/?assigned=bench",
    "overdue": "/?due=overdue",
    "due today": "/?due=today",
}


def fill(url: str, *, tasks: int) -> None:
    """`tasks` open tasks over tasks/2 customers, opened every five minutes up to now (so
    some are overdue, some due today, most due later), or evenly over the longest due period
    and two days more when five minutes apart would span less: a few days of tasks would hold
    no overdue one at some hours of the day."""
    engine = create_warehouse_engine(url)
    migrate(engine)
    span = max(dt.timedelta(seconds=tasks * 300), dt.timedelta(days=max(DUE_DAYS.values()) + 2))
    step = span / max(tasks, 1)
    start = dt.datetime.now(dt.UTC) - span
    customers = max(1, tasks // 2)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Customer),
            [
                {
                    "customer_id": format_customer_id(n),
                    # one customer in a hundred is a 王伟, about the share of China's commonest name
                    "full_name": "王伟" if n % 100 == 0 else f"李{n % 9973:04d}",
                    "mobile": f"+86138{n:08d}",
                    "branch_code": f"B{n % 20:03d}",
                    "relationship_manager": f"RM{n % 50:02d}",
                    "quality_score": 0.5,
                    "count_sources": 1,
                    "field_sources": {},
                    "is_active": True,
                    "created_at": start,
                    "updated_at": start,
                    "last_run_id": "bench",
                }
                for n in range(1, customers + 1)
            ],
        )
        connection.execute(
            sa.insert(StewardTask),
            [
                {
                    "task_type": TYPES[n % len(TYPES)],
                    "status": "open",
                    "priority": 1 + n % 3,
                    "task_key": f"bench:{n}",
                    "customer_id": format_customer_id(1 + n % customers),
                    "source_system": CHANNELS[n % len(CHANNELS)],
                    "details": DETAILS[TYPES[n % len(TYPES)]],
                    "rule": task_rule(TYPES[n % len(TYPES)], DETAILS[TYPES[n % len(TYPES)]]),
                    "due_on": due_on(1 + n % 3, (start + n * step).date()),
                    # one task in twenty is the signed-in steward's
                    "assigned_to": "bench" if n % 20 == 0 else None,
                    "created_at": start + n * step,
                    "run_id": "bench",
                }
                for n in range(tasks)
            ],
        )
    if engine.dialect.name == "postgresql":
        # statistics, as autovacuum gathers them soon after a run's load: the planner of a
        # warehouse in use has them
        with engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
    with Session(engine) as session, session.begin():
        add_user(session, username="bench", password=PASSWORD, role="steward")
        add_user(session, username="checker", password=PASSWORD, role="steward")
    engine.dispose()


def measure(client: TestClient, path: str, *, repeats: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds of GET path (after one warm-up request)."""
    assert client.get(path).status_code == 200, path
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, path
    times.sort()
    return statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)]


@contextlib.contextmanager
def scratch_warehouse(url: str | None) -> Iterator[str]:
    """A new SQLite file, or a new schema of the given PostgreSQL database (dropped after,
    as tests/conftest.py does), so the bench never writes into anyone's tables."""
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'queue.db'}"
        return
    if not url.startswith("postgresql"):
        raise SystemExit("--warehouse takes a PostgreSQL URL (without it: a new SQLite file)")
    schema = f"bench_queue_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def time_views(url: str, *, repeats: int) -> list[str]:
    """Every queue view's p50/p95; the names of those at or over the budget."""
    app = create_app(url)
    app.state.search_limit = SearchLimit(per_window=10**9)  # a bench, not a scraper
    slow = []
    with TestClient(app) as client:
        login = client.get("/login").text
        token = login.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token})
        for name, path in PAGES.items():
            p50, p95 = measure(client, path, repeats=repeats)
            print(f"queue, {name:<15} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
            if p95 >= BUDGET_MS:
                slow.append(name)
    app.state.engine.dispose()
    return slow


def _bulk_requests(session: Session, count: int) -> list[approvals.Request]:
    """The oldest ``count`` open tasks: possible matches confirmed or not (every other one),
    the rest dismissed."""
    rows = session.execute(
        sa.select(StewardTask.task_id, StewardTask.task_type)
        .where(StewardTask.status == "open")
        .order_by(StewardTask.task_id)
        .limit(count)
    ).all()
    requests = []
    for task_id, task_type in rows:
        if task_type != "possible_match":
            action = "dismiss"
        else:
            action = "confirm_match" if task_id % 2 else "not_a_match"
        requests.append(approvals.Request(task_id, action, "bench bulk"))
    return requests


def time_bulk(url: str, *, count: int) -> list[str]:
    """A bulk decision of ``count`` tasks, proposed and approved, and a bulk assignment of
    as many; what took 30 s or more."""
    engine = create_warehouse_engine(url)
    rules = approvals.FourEyes(frozenset({"diamond", "platinum"}), bulk=100)
    slow = []
    with Session(engine) as session, session.begin():
        requests = _bulk_requests(session, count)
        started = time.perf_counter()
        outcome = approvals.decide_many(session, requests, by="bench", rules=rules)
        assert outcome.pending is not None, "a bulk over the four-eyes count waits"
        change_id = outcome.pending.change_id
    proposed = time.perf_counter() - started  # with its commit
    with Session(engine) as session, session.begin():
        started = time.perf_counter()
        approved = approvals.approve(session, change_id=change_id, by="checker")
    applied = time.perf_counter() - started
    with Session(engine) as session:
        written = session.scalar(
            sa.select(sa.func.count())
            .select_from(StewardDecision)
            .where(StewardDecision.action.in_(["confirm_match", "not_a_match", "dismiss"]))
        )
    assert written == len(approved.decisions) == len(requests), (written, len(requests))
    total = proposed + applied
    print(
        f"bulk of {len(requests):,} decisions: proposed {proposed:.1f}s, approved and applied"
        f" {applied:.1f}s, {total:.1f}s in all ({written:,} audited decisions)"
    )
    if total >= BULK_BUDGET_S:
        slow.append("bulk decision")
    with Session(engine) as session, session.begin():
        ids = list(
            session.scalars(
                sa.select(StewardTask.task_id).order_by(StewardTask.task_id).limit(count)
            )
        )
        started = time.perf_counter()
        assign_tasks(session, task_ids=ids, to="team-a", by="bench", reason="bench")
    assigned = time.perf_counter() - started
    print(f"bulk assignment of {len(ids):,} tasks: {assigned:.1f}s")
    if assigned >= BULK_BUDGET_S:
        slow.append("bulk assignment")
    engine.dispose()
    return slow


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument("--warehouse", help="a PostgreSQL database (default: a new SQLite file)")
    parser.add_argument("--tasks", type=int, default=200_000)
    parser.add_argument("--bulk", type=int, default=BULK_TASKS, help="tasks in the bulk action")
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()

    with scratch_warehouse(args.warehouse) as url:
        started = time.perf_counter()
        fill(url, tasks=args.tasks)
        print(f"{args.tasks:,} open tasks written in {time.perf_counter() - started:.1f}s")
        slow = time_views(url, repeats=args.repeats)
        slow_bulk = time_bulk(url, count=min(args.bulk, args.tasks))
    if slow or slow_bulk:
        over = [f"{name} (p95 {BUDGET_MS:.0f} ms)" for name in slow]
        over += [f"{name} ({BULK_BUDGET_S:.0f} s)" for name in slow_bulk]
        raise SystemExit(f"over budget: {', '.join(over)}")
    print(f"every view under {BUDGET_MS:.0f} ms at p95; bulk actions under {BULK_BUDGET_S:.0f} s")


if __name__ == "__main__":
    main()
