"""A workbench warehouse to test against: one customer with two source records, an open
conflict task and a user of each role, and signing in through the login form."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Customer, CustomerXref, SourceRecord, StewardTask
from web.auth import add_user

PASSWORD = "correct horse battery"
MOBILE = "+8613812345678"
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def seed(url: str) -> None:
    """One customer with two source records, an open conflict task, and three users."""
    engine = create_warehouse_engine(url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        session.add(
            Customer(
                customer_id="C000000001",
                full_name="<script>alert(1)</script>陈丽",
                mobile=MOBILE,
                id_number="110101199003077777",
                quality_score=0.5,
                count_sources=2,
                field_sources={},
                created_at=NOW,
                updated_at=NOW,
                last_run_id="seed",
            )
        )
        session.flush()
        for record_id, name in (("B1", "陈丽"), ("A1", "陳麗")):
            session.add(
                SourceRecord(
                    source_system="branch",
                    source_record_id=record_id,
                    source_file="seed.csv",
                    source_row=1,
                    raw_hash="0" * 64,
                    record={
                        "record_key": f"branch:{record_id}",
                        "full_name": name,
                        "mobile": MOBILE,
                    },
                    ingested_at=NOW,
                    last_run_id="seed",
                )
            )
            session.add(
                CustomerXref(
                    source_system="branch",
                    source_record_id=record_id,
                    customer_id="C000000001",
                    match_score=1.0,
                    matched_at=NOW,
                    run_id="seed",
                )
            )
        session.add(
            StewardTask(
                task_id=1,
                task_type="conflict",
                task_key="conflict:C000000001:full_name:x",
                priority=2,
                customer_id="C000000001",
                details={
                    "field": "full_name",
                    "values": [
                        {"value": "陈丽", "record_key": "branch:B1", "source_system": "branch"},
                        {"value": "陳麗", "record_key": "branch:A1", "source_system": "branch"},
                    ],
                },
                status="open",
                created_at=NOW,
                run_id="seed",
            )
        )
        for role in ("viewer", "steward", "admin"):
            add_user(session, username=role, password=PASSWORD, role=role)
    engine.dispose()


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page carries no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str) -> str:
    """Sign in through the login form; returns the CSRF token of the session."""
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    return csrf_of(client.get("/").text)
