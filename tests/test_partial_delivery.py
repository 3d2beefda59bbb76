"""A delivery of one channel can merge customers whose records it does not bring: the records
of the customer that merges away must then point at the one that survives."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.warehouse_io import read, run_into

from mdm.testbed.generate import generate

NAME = "欧阳修远"
MOBILE = "13912345678"
EMAIL = "ouyang.xiuyuan@example.com"


def channel(name: str, **columns: str) -> str:
    """A channels.yaml entry for `<name>.csv`, keyed by `rid`; columns: field=header."""
    mapped = "".join(f"      {field}: {header}\n" for field, header in columns.items())
    return (
        f"\n  {name}:\n    path: {name}.csv\n    format: csv\n    encoding: utf-8\n"
        f"    record_id: rid\n    trust: 50\n    columns:\n{mapped}"
    )


# Two records of one person that share nothing a blocking rule keys on except a name in two
# cities: separate customers until a third record holds both the mobile and the email.
PERSON_COLUMNS = {"full_name": "name", "mobile": "phone", "email": "email", "city": "city"}
CHANNEL_X = channel("extra_x", **PERSON_COLUMNS)
CHANNEL_Y = channel("extra_y", **PERSON_COLUMNS, birth_date="birthday")


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_a_merge_moves_the_records_the_delivery_did_not_bring(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tmp_path / "first"
    generate(first, customers=150, seed=21)
    (first / "extra_x.csv").write_text(
        f"rid,name,phone,email,city\nX1,{NAME},{MOBILE},,太原\nX2,{NAME},,{EMAIL},大同\n",
        encoding="utf-8",
    )
    config = (first / "channels.yaml").read_text(encoding="utf-8")
    (first / "channels.yaml").write_text(config.rstrip("\n") + "\n" + CHANNEL_X, encoding="utf-8")
    run_into(first, warehouse_url, monkeypatch, tmp_path, build_docs=False)
    before = read(
        warehouse_url,
        "SELECT source_record_id, customer_id FROM customer_xref WHERE source_system = 'extra_x'",
    )
    assert before["customer_id"].nunique() == 2  # two customers so far

    second = tmp_path / "second"  # only the new channel, with the record that bridges them
    second.mkdir()
    (second / "extra_y.csv").write_text(
        f"rid,name,phone,email,city,birthday\nY1,{NAME},{MOBILE},{EMAIL},太原,1975-03-04\n",
        encoding="utf-8",
    )
    (second / "channels.yaml").write_text("channels:" + CHANNEL_Y, encoding="utf-8")
    run_into(second, warehouse_url, monkeypatch, tmp_path, build_docs=False)

    person = read(
        warehouse_url,
        "SELECT x.source_system, x.source_record_id, x.customer_id, c.is_active "
        "FROM customer_xref x JOIN customer c USING (customer_id) "
        "WHERE x.source_system IN ('extra_x', 'extra_y')",
    )
    assert len(person) == 3
    assert person["customer_id"].nunique() == 1  # one person, one customer
    assert person["is_active"].astype(bool).all()
    dangling = read(
        warehouse_url,
        "SELECT count(*) AS n FROM customer_xref x JOIN customer c USING (customer_id) "
        "WHERE NOT c.is_active",
    )
    assert int(dangling["n"].iloc[0]) == 0  # no record points at a retired customer
