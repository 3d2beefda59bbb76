"""The customer page lists related customers (customer_relationship) from either side, linked,
with the kind and the names of the agreeing fields."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpers.rows import golden_customer
from helpers.workbench import MOBILE, NOW, seed, sign_in
from sqlalchemy.orm import Session

from warehouse.db import create_warehouse_engine, migrate
from warehouse.models import Customer, CustomerRelationship
from web.app import create_app
from web.routes_customers import related_customers


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    seed(url)
    engine = create_warehouse_engine(url)
    with Session(engine) as session, session.begin():
        for number, name in ((2, "陈明"), (3, "王芳")):
            session.add(
                Customer(
                    customer_id=f"C00000000{number}",
                    full_name=name,
                    mobile=MOBILE,
                    quality_score=0.5,
                    count_sources=1,
                    field_sources={},
                    created_at=NOW,
                    updated_at=NOW,
                    last_run_id="seed",
                )
            )
        for other, kind, evidence in (
            ("C000000002", "household", ["surname", "address", "mobile"]),
            ("C000000003", "shared_phone", ["mobile"]),
        ):
            session.add(
                CustomerRelationship(
                    customer_id="C000000001",
                    related_customer_id=other,
                    relationship_type=kind,
                    evidence=evidence,
                    since=NOW,
                    updated_at=NOW,
                    first_seen_run_id="seed",
                    last_seen_run_id="seed",
                )
            )
    engine.dispose()
    app = create_app(url, idle_minutes=30)
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client
    app.state.engine.dispose()


def _related_table(page: str) -> str:
    found = re.search(r'<table id="related">(.*?)</table>', page, re.S)
    assert found, "the customer page has no related customers table"
    return found.group(1)


def test_related_customers_are_shown_and_linked_from_both_sides(client: TestClient) -> None:
    sign_in(client, "viewer")
    table = _related_table(client.get("/customers/C000000001").text)
    rows = re.findall(r"<tr><td>(.*?)</tr>", table, re.S)
    assert len(rows) == 2
    assert 'href="/customers/C000000002"' in rows[0] and "household" in rows[0]
    assert "surname, address, mobile" in rows[0] and "陈明" in rows[0]
    assert 'href="/customers/C000000003"' in rows[1] and "shared_phone" in rows[1]
    assert MOBILE[-8:] not in table  # field names, never the shared number

    other_side = _related_table(client.get("/customers/C000000002").text)
    assert 'href="/customers/C000000001"' in other_side and "C000000003" not in other_side
    third = re.findall(
        r"<tr><td>(.*?)</tr>", _related_table(client.get("/customers/C000000003").text), re.S
    )
    assert len(third) == 1 and "C000000001" in third[0] and "shared_phone" in third[0]


def test_related_customers_query_on_both_warehouses(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    with Session(engine) as session, session.begin():
        session.add(
            golden_customer("C000000002", full_name="Mary Walker", created_at=NOW, updated_at=NOW)
        )
        for low, high, kind in (
            ("C000000001", "C000000003", "shared_address"),
            ("C000000001", "C000000002", "household"),
            ("C000000004", "C000000005", "household"),
        ):
            session.add(
                CustomerRelationship(
                    customer_id=low,
                    related_customer_id=high,
                    relationship_type=kind,
                    evidence=["address"],
                    since=NOW,
                    updated_at=NOW,
                    first_seen_run_id="r",
                    last_seen_run_id="r",
                )
            )
    with Session(engine) as session:
        shown = related_customers(session, "C000000003")
        first = related_customers(session, "C000000001")
    engine.dispose()
    assert [(r["customer_id"], r["relationship_type"]) for r in shown] == [
        ("C000000001", "shared_address")
    ]
    # strongest kind first; a customer the warehouse no longer holds still shows its id
    assert [(r["customer_id"], r["full_name"]) for r in first] == [
        ("C000000002", "Mary Walker"),
        ("C000000003", None),
    ]
