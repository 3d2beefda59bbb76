"""How fast the steward queue answers with 100,000 open tasks. Usage:

    python -m bench.queue                     # SQLite file in a temporary folder
    python -m bench.queue --warehouse postgresql+psycopg://postgres@127.0.0.1:5432/test

Fills an empty warehouse with customers and open tasks of every type, signs a steward in, and
times the queue page (oldest first, then filtered, searched and paged) through the whole web
stack; prints p50/p95 per page and fails when a p95 is at or above the budget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from mdm.customer_ids import format_customer_id
from mdm.stewardship.tasks import due_on, task_rule
from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Customer, StewardTask
from web.app import create_app
from web.auth import add_user

BUDGET_MS = 300.0
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
    "search a phone": "/?q=138****0042",
    "one rule": "/?type=compliance&rule=risk_assessment_expired",
    "one branch": "/?branch=B007",
    "one manager": "/?rm=RM13",
}


def fill(url: str, *, tasks: int) -> None:
    """`tasks` open tasks over tasks/2 customers, spread over a year of creation dates."""
    engine = create_warehouse_engine(url)
    migrate(engine)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
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
                    "due_on": due_on(1 + n % 3, (start + dt.timedelta(seconds=n * 300)).date()),
                    "created_at": start + dt.timedelta(seconds=n * 300),
                    "run_id": "bench",
                }
                for n in range(tasks)
            ],
        )
    with Session(engine) as session, session.begin():
        add_user(session, username="bench", password=PASSWORD, role="steward")
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__)
    parser.add_argument("--warehouse", help="an empty warehouse (default: a new SQLite file)")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        url = args.warehouse or f"sqlite:///{Path(folder) / 'queue.db'}"
        started = time.perf_counter()
        fill(url, tasks=args.tasks)
        print(f"{args.tasks:,} open tasks written in {time.perf_counter() - started:.1f}s")
        app = create_app(url)
        slow = []
        with TestClient(app) as client:
            login = client.get("/login").text
            token = login.split('name="csrf_token" value="')[1].split('"')[0]
            client.post(
                "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
            )
            for name, path in PAGES.items():
                p50, p95 = measure(client, path, repeats=args.repeats)
                print(f"queue, {name:<15} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
                if p95 >= BUDGET_MS:
                    slow.append(name)
        app.state.engine.dispose()
    if slow:
        raise SystemExit(f"over the {BUDGET_MS:.0f} ms budget: {', '.join(slow)}")
    print(f"every queue page under {BUDGET_MS:.0f} ms at p95")


if __name__ == "__main__":
    main()
