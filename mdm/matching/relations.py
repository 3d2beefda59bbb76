"""Related customers: pairs of records that are two people but share a household, a phone or an
address (SPEC §4). The matcher keeps them apart; this records the link between their customers.

Found among the scored candidate pairs that ended in two different customers (not a match, or
cannot-link), never among possible matches, which a steward has still to decide. A pair of
customers gets one relationship, of the strongest kind any of their record pairs shows:

- ``household``: the surname and the address agree (spouses, parents and children);
- ``shared_phone``: the mobile is the same (a relative's or an assistant's number);
- ``shared_address``: the address agrees.

``evidence`` names the fields that agree, never their values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mdm.matching.features import column

KINDS = ("household", "shared_phone", "shared_address")  # strongest first
EVIDENCE = ("surname", "address", "mobile")
RELATIONSHIP_COLUMNS = ("customer_id", "related_customer_id", "relationship_type", "evidence")

_ADDRESS_AGREES = ("exact", "fuzzy")
# Latin names compared in parts: these levels mean the family names agree.
_FAMILY_AGREES = ("latin_family_only", "latin_initial", "latin_similar", "latin_exact")
_LATIN = ("latin_different", *_FAMILY_AGREES)
_TWO_PEOPLE = ("non_match", "cannot_link")


def _surname(records: pd.DataFrame, keys: np.ndarray) -> np.ndarray:
    """The first pinyin token of each record's name (the surname, for names the standardizer
    ordered surname first), '' when unknown."""
    pinyin = column(records, "name_pinyin").reindex(keys)
    return pinyin.fillna("").astype(str).str.partition(" ")[0].to_numpy(dtype=object)


def related_customers(
    pairs: pd.DataFrame, customer_of: pd.Series, records: pd.DataFrame
) -> pd.DataFrame:
    """RELATIONSHIP_COLUMNS, one row per related pair of customers (customer_id the smaller).

    ``pairs``: MatchResult.pairs; ``customer_of``: record_key -> customer_id after the run, for
    every record a pair names; ``records``: the standardized records (index record_key).
    """
    address = pairs["address_level"].isin(_ADDRESS_AGREES).to_numpy()
    mobile = (pairs["mobile_level"] == "exact").to_numpy()
    candidates = pairs.loc[(address | mobile) & pairs["decision"].isin(_TWO_PEOPLE).to_numpy()]
    left = customer_of.reindex(candidates["left_key"]).to_numpy(dtype=object)
    right = customer_of.reindex(candidates["right_key"]).to_numpy(dtype=object)
    apart = pd.notna(left) & pd.notna(right) & (left != right)
    candidates, left, right = candidates.loc[apart], left[apart], right[apart]
    if candidates.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in RELATIONSHIP_COLUMNS})

    name_level = candidates["name_level"].astype(object).to_numpy()
    first_l = _surname(records, candidates["left_key"].to_numpy(dtype=object))
    first_r = _surname(records, candidates["right_key"].to_numpy(dtype=object))
    surname = np.isin(name_level, _FAMILY_AGREES) | (name_level == "surname_only")
    surname |= ~np.isin(name_level, _LATIN) & (first_l != "") & (first_l == first_r)
    agrees = {
        "surname": surname,
        "address": candidates["address_level"].isin(_ADDRESS_AGREES).to_numpy(),
        "mobile": (candidates["mobile_level"] == "exact").to_numpy(),
    }
    kind = np.select(
        [agrees["surname"] & agrees["address"], agrees["mobile"]],
        [KINDS.index("household"), KINDS.index("shared_phone")],
        KINDS.index("shared_address"),
    )
    found = pd.DataFrame(
        {
            "customer_id": np.where(left < right, left, right),
            "related_customer_id": np.where(left < right, right, left),
            "kind": kind,
            **{name: agrees[name] for name in EVIDENCE},
        }
    )
    linked = found.groupby(["customer_id", "related_customer_id"], sort=True).agg(
        kind=("kind", "min"), **{name: (name, "any") for name in EVIDENCE}
    )
    evidence = [
        [name for name, agreed in zip(EVIDENCE, row, strict=True) if agreed]
        for row in linked[list(EVIDENCE)].itertuples(index=False)
    ]
    return pd.DataFrame(
        {
            "customer_id": linked.index.get_level_values(0).to_numpy(dtype=object),
            "related_customer_id": linked.index.get_level_values(1).to_numpy(dtype=object),
            "relationship_type": np.asarray(KINDS, dtype=object)[linked["kind"].to_numpy()],
            "evidence": pd.Series(evidence, dtype=object).to_numpy(),
        }
    )


def merged_into(before: pd.Series, after: pd.Series, retired: list[str]) -> dict[str, str]:
    """retired customer_id -> the customer most of its records now belong to (before and after:
    record_key -> customer_id, for the records the run re-clustered)."""
    moved = pd.DataFrame({"old": before.reindex(after.index), "new": after})
    moved = moved.loc[moved["old"].isin(retired)]
    if moved.empty:
        return {}
    votes = moved.groupby(["old", "new"]).size().reset_index(name="votes")
    votes = votes.sort_values(["old", "votes", "new"], ascending=[True, False, True])
    return dict(votes.drop_duplicates("old").set_index("old")["new"].astype(str))
