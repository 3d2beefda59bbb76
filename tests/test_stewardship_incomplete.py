"""`incomplete` tasks only for fields that one of the customer's channels carries (issue 16
point 6: a list without phones or ids opened an `incomplete` task for every lead)."""

from __future__ import annotations

import pandas as pd

from mdm.stewardship.run_tasks import carried_fields, incomplete_tasks


def test_a_field_no_channel_of_the_customer_carries_opens_no_task() -> None:
    records = pd.DataFrame(
        {
            "source_system": ["branch", "branch", "leads", "leads"],
            "id_number": ["110101199003077777", None, None, None],
            "mobile": ["+8613812345678", None, None, None],
            "birth_date": [pd.Timestamp("1990-03-07"), None, pd.Timestamp("1985-01-02"), None],
            "risk_level": ["C3", None, None, None],
        },
        index=["branch:1", "branch:2", "leads:1", "leads:2"],
    )
    customer_of = pd.Series(
        ["C1", "C2", "C3", "C2"], index=records.index
    )  # C2: a branch record and a lead
    golden = pd.DataFrame(
        {
            "id_number": [records.at["branch:1", "id_number"], None, None],
            "mobile": [records.at["branch:1", "mobile"], None, None],
            "birth_date": [pd.Timestamp("1990-03-07"), None, pd.Timestamp("1985-01-02")],
            "risk_level": ["C3", None, None],
            "aum_cny": [None, None, None],
        },
        index=pd.Index(["C1", "C2", "C3"], name="customer_id"),
    )
    carried = carried_fields(records, customer_of)
    opened = {
        (task["customer_id"], task["details"]["field"])
        for task in incomplete_tasks(golden, carried)
    }
    everything = {
        (task["customer_id"], task["details"]["field"]) for task in incomplete_tasks(golden)
    }
    # the branch carries ids, mobiles and birth dates: C2 (a branch customer) lacks them all
    assert {("C2", "id_number"), ("C2", "mobile"), ("C2", "birth_date")} <= opened
    # C3 came only from the leads list, which carries birth dates and nothing else
    assert not {key for key in opened if key[0] == "C3"}
    assert {("C3", "id_number"), ("C3", "mobile")} <= everything
