"""customer_relationship: households and shared phones or addresses are recorded between two
customers who stay apart (SPEC §4), once, without the values that agree."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from helpers.warehouse_io import read, run_into
from sqlalchemy.orm import Session

from flows.dedupe import settled_customers
from mdm.cli.report import format_summary
from mdm.matching.relations import EVIDENCE, merged_into, related_customers
from mdm.testbed.generate import generate
from warehouse.db import create_warehouse_engine, migrate
from warehouse.load.relationships import write_relationships
from warehouse.models import CustomerRelationship
from warehouse.run_output import RunOutput

PHONE = "+8613912345678"
HOUSEHOLD = [  # record id, name, birth date, mobile, address
    ("H1", "John Walker", "1970-03-14", PHONE, "12 Elm Street Apt 3"),
    ("H2", "Mary Walker", "1972-08-02", PHONE, "12 Elm Street Apt 3"),
    ("H3", "王强", "1980-01-05", "+8613700001111", "北京市朝阳区幸福路8号"),
    ("H4", "李娜", "1982-06-21", "+8613700001111", "北京市朝阳区幸福路8号"),
]
CHANNEL = """
  crm:
    path: crm_contacts.csv
    format: csv
    record_id: rid
    trust: 60
    columns:
      full_name: name
      birth_date: born
      mobile: phone
      address: street
      city: city
"""


def _write_crm(folder: Path, rows: list[tuple[str, str, str, str, str]]) -> None:
    with (folder / "crm_contacts.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["rid", "name", "born", "phone", "street", "city"])
        for row in rows:
            writer.writerow([*row, "北京" if row[1][0] > "z" else "Springfield"])


@pytest.fixture(scope="module")
def households(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The development channels plus a CRM extract with two couples: the Walkers (one surname,
    address and phone) and a Chinese couple with two surnames, one phone and one address."""
    folder = tmp_path_factory.mktemp("households")
    generate(folder, customers=60, seed=11)
    channels = folder / "channels.yaml"
    text = channels.read_text(encoding="utf-8")
    head, feeds = text.split("\n  branch_txn:", 1)
    channels.write_text(head.rstrip("\n") + CHANNEL + "  branch_txn:" + feeds, encoding="utf-8")
    _write_crm(folder, HOUSEHOLD)
    return folder


def _customers(url: str) -> pd.Series:
    xref = read(url, "SELECT source_record_id, customer_id FROM customer_xref")
    return pd.Series(xref["customer_id"].to_numpy(), index=xref["source_record_id"])


def _links(url: str) -> pd.DataFrame:
    return read(url, "SELECT * FROM customer_relationship ORDER BY relationship_id")


def _evidence(value: Any) -> list[str]:
    """A JSON column as pandas reads it: the list on PostgreSQL, its text on SQLite."""
    return list(value) if isinstance(value, list) else list(json.loads(value))


def _link(links: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    low, high = sorted((a, b))
    return links[(links["customer_id"] == low) & (links["related_customer_id"] == high)]


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_two_spouses_are_two_customers_and_one_household_row_once(
    households: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run_into(households, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    customer = _customers(warehouse_url)
    assert customer["H1"] != customer["H2"]
    assert customer["H3"] != customer["H4"]
    links = _links(warehouse_url)
    walkers = _link(links, customer["H1"], customer["H2"])
    assert walkers["relationship_type"].tolist() == ["household"]
    couple = _link(links, customer["H3"], customer["H4"])
    assert couple["relationship_type"].tolist() == ["shared_phone"]
    assert _evidence(walkers["evidence"].iloc[0]) == ["surname", "address", "mobile"]
    assert first.relationships_found == len(links) >= 2
    summary = format_summary(first, warehouse_url=warehouse_url)
    assert f"related customers (households, shared phones or addresses): {len(links)} pairs" in (
        summary
    )
    assert (links["customer_id"] < links["related_customer_id"]).all()
    assert set(walkers["first_seen_run_id"]) == set(walkers["last_seen_run_id"]) == {first.run_id}
    # names of fields only: no phone, address or name in any row
    text = links.to_json(force_ascii=False, date_format="iso")
    assert "Elm" not in text and "13912345678" not in text and "幸福路" not in text
    assert all(set(_evidence(row)) <= set(EVIDENCE) for row in links["evidence"])

    run_into(households, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    assert _links(warehouse_url).equals(links)  # a rerun writes no link twice, changes none


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_an_incremental_run_links_a_new_household_member_without_duplicating(
    households: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = run_into(households, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    before = _links(warehouse_url)
    second = tmp_path / "second"
    shutil.copytree(households, second)
    child = ("H5", "Tom Walker", "2004-11-30", PHONE, "12 Elm Street Apt 3")
    _write_crm(second, [*HOUSEHOLD, child])

    run = run_into(second, warehouse_url, monkeypatch, tmp_path, build_docs=False)

    assert sum(run.blocking_counts.values()) < sum(first.blocking_counts.values()) / 5
    customer = _customers(warehouse_url)
    assert len({customer[key] for key in ("H1", "H2", "H5")}) == 3
    after = _links(warehouse_url)
    for parent in ("H1", "H2"):
        assert _link(after, customer["H5"], customer[parent])["relationship_type"].tolist() == [
            "household"
        ]
    assert not after.duplicated(["customer_id", "related_customer_id"]).any()
    # the links the new record did not touch are kept as they were
    kept = after[after["relationship_id"].isin(before["relationship_id"])]
    assert len(kept) == len(before)
    assert len(after) == len(before) + 2


def _output(
    run_id: str,
    links: pd.DataFrame,
    *,
    complete: bool,
    merged: dict[str, str],
    settled: list[str] | None = None,
) -> Any:
    empty = pd.DataFrame()
    return RunOutput(
        run_id=run_id,
        records=empty,
        xref=empty,
        customers=empty,
        retired_customer_ids=list(merged),
        segments=empty,
        tasks=[],
        quarantined=empty,
        relationships=links,
        relationships_complete=complete,
        relationships_settled=settled or [],
        merged_into=merged,
    )


def _frame(*rows: tuple[str, str, str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["customer_id", "related_customer_id", "relationship_type", "evidence"]
    )


def _stored(session: Session) -> list[tuple[str, str, str, str]]:
    link = CustomerRelationship
    return [
        tuple(row)
        for row in session.execute(
            sa.select(
                link.customer_id,
                link.related_customer_id,
                link.relationship_type,
                link.last_seen_run_id,
            ).order_by(link.customer_id, link.related_customer_id)
        )
    ]


def test_links_to_a_merged_customer_are_repointed_or_dropped(warehouse_url: str) -> None:
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    household = ["surname", "address"]
    try:
        with Session(engine) as session, session.begin():
            first = _frame(
                ("C1", "C2", "household", household),
                ("C2", "C3", "shared_phone", ["mobile"]),
                ("C3", "C4", "shared_address", ["address"]),
                ("C5", "C6", "shared_address", ["address"]),
            )
            write_relationships(session, _output("r1", first, complete=True, merged={}), now)
        with Session(engine) as session, session.begin():
            # C3 merged into C1: C2-C3 becomes C1-C2 (already linked), C3-C4 becomes C1-C4;
            # an incremental run leaves C5-C6, which it did not see
            found = _frame(("C1", "C2", "household", [*household, "mobile"]))
            write_relationships(
                session, _output("r2", found, complete=False, merged={"C3": "C1"}), now
            )
            assert _stored(session) == [
                ("C1", "C2", "household", "r2"),
                ("C1", "C4", "shared_address", "r1"),
                ("C5", "C6", "shared_address", "r1"),
            ]
        with Session(engine) as session, session.begin():
            # C4 merged into C1 (the link falls away); a full run retires what it did not see
            write_relationships(
                session, _output("r3", found, complete=True, merged={"C4": "C1"}), now
            )
            assert _stored(session) == [("C1", "C2", "household", "r3")]
    finally:
        engine.dispose()


def test_an_incremental_run_drops_the_unfound_links_of_customers_it_matched_whole(
    warehouse_url: str,
) -> None:
    engine = create_warehouse_engine(warehouse_url)
    migrate(engine)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    try:
        with Session(engine) as session, session.begin():
            first = _frame(
                ("C1", "C2", "household", ["surname", "address"]),
                ("C3", "C4", "shared_address", ["address"]),
            )
            write_relationships(session, _output("r1", first, complete=True, merged={}), now)
        with Session(engine) as session, session.begin():
            # C2 moved house: all its records were rematched and the household was not found;
            # C3 and C4 were not matched, so their link stands
            write_relationships(
                session,
                _output("r2", _frame(), complete=False, merged={}, settled=["C2"]),
                now,
            )
            assert _stored(session) == [("C3", "C4", "shared_address", "r1")]
    finally:
        engine.dispose()


def test_settled_customers_are_those_whose_records_are_all_in_the_delta() -> None:
    customer_of = pd.Series(["C1", "C1", "C2", "C3"], index=["a", "b", "c", "d"])
    assert settled_customers(customer_of, pd.Index(["b", "c", "e"])) == ["C2"]


def test_related_customers_from_scored_pairs() -> None:
    records = pd.DataFrame(
        {"name_pinyin": ["walker john", "walker mary", "wang qiang", "li na", "zhang wei"]},
        index=["a", "b", "c", "d", "e"],
    )
    pairs = pd.DataFrame(
        {
            "left_key": ["a", "c", "a", "d"],
            "right_key": ["b", "d", "e", "e"],
            "decision": ["cannot_link", "non_match", "possible", "match"],
            "name_level": ["latin_family_only", "different", "different", "different"],
            "address_level": ["exact", "exact", "exact", "exact"],
            "mobile_level": ["exact", "null", "exact", "exact"],
        }
    )
    customer_of = pd.Series(["C2", "C1", "C3", "C4", "C4"], index=records.index)
    links = related_customers(pairs, customer_of, records)
    # a possible match is a steward's to decide, and one customer is no relationship
    assert links.to_dict("records") == [
        {
            "customer_id": "C1",
            "related_customer_id": "C2",
            "relationship_type": "household",
            "evidence": ["surname", "address", "mobile"],
        },
        {
            "customer_id": "C3",
            "related_customer_id": "C4",
            "relationship_type": "shared_address",
            "evidence": ["address"],
        },
    ]
    before = pd.Series(["C1", "C2", "C2"], index=["a", "b", "c"])
    after = pd.Series(["C1", "C1", "C1"], index=["a", "b", "c"])
    assert merged_into(before, after, ["C2"]) == {"C2": "C1"}
