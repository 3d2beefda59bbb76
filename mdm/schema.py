"""The standard customer record (SPEC §2): the one shape every channel is mapped to.

Every stage after ingest speaks in these column names. Values are plain Python/pandas scalars:
strings, floats, ``datetime.date`` for dates, ``None``/NaN when absent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

# Lineage columns that every standardized record carries.
LINEAGE_FIELDS: tuple[str, ...] = (
    "source_system",  # channel name from channels.yaml
    "source_record_id",  # record id within that channel
    "source_updated_at",
    "source_file",  # file (or table) the row came from
    "source_row",  # 1-based data row number in that file
    "raw_hash",  # sha256 of the raw row, hex
    "ingested_at",
    "trust",  # 0-100, the channel's survivorship priority
)

IDENTITY_FIELDS: tuple[str, ...] = (
    "full_name",
    "family_name",
    "given_name",
    "gender",  # M / F / U
    "birth_date",
    "birth_year",
    "id_type",  # CN_RID, PASSPORT, HKMO_PERMIT, TW_PERMIT, FOREIGN_PR, OTHER
    "id_number",
)

CONTACT_FIELDS: tuple[str, ...] = (
    "mobile",  # E.164
    "phone_other",  # E.164
    "email",
    "address",
    "province",
    "city",
    "district",
    "postal_code",
)

PROFILE_FIELDS: tuple[str, ...] = ("occupation", "employer", "education")

FINANCIAL_FIELDS: tuple[str, ...] = (
    "aum_cny",
    "risk_level",  # C1..C5
    "risk_assessed_on",
    "product_risk_max",  # R1..R5
    "products_held",
    "last_txn_at",
    "txn_count_12m",
    "txn_amount_12m_cny",
)

RELATIONSHIP_FIELDS: tuple[str, ...] = (
    "relationship_manager",
    "branch_code",
    "preferred_contact",
    "marketing_consent",
    "do_not_disturb",
    "list_flag",  # red | black
)

# Canonical fields a channel may map (channels.yaml `columns:` keys).
CANONICAL_FIELDS: tuple[str, ...] = (
    ("source_updated_at",)
    + IDENTITY_FIELDS
    + CONTACT_FIELDS
    + PROFILE_FIELDS
    + FINANCIAL_FIELDS
    + RELATIONSHIP_FIELDS
)

# Canonical fields by the type of value they hold once standardized (one home: the standardizer,
# the channel config and the warehouse reads all take them from here).
DATE_FIELDS: tuple[str, ...] = ("birth_date", "risk_assessed_on")
DATETIME_FIELDS: tuple[str, ...] = ("source_updated_at", "last_txn_at")
AMOUNT_FIELDS: tuple[str, ...] = ("aum_cny", "txn_amount_12m_cny")  # in CNY yuan
INTEGER_FIELDS: tuple[str, ...] = ("birth_year", "txn_count_12m")
BOOLEAN_FIELDS: tuple[str, ...] = ("marketing_consent", "do_not_disturb")

# Fields the golden record (table `customer`) carries, survived from the sources.
GOLDEN_FIELDS: tuple[str, ...] = tuple(f for f in CANONICAL_FIELDS if f != "source_updated_at")

# Derived columns added by standardization, used for validation and matching only.
DERIVED_FIELDS: tuple[str, ...] = (
    "name_key",  # simplified Chinese, no spaces / or lowercase latin tokens joined by a space
    "name_pinyin",  # toneless pinyin tokens, surname first, e.g. "zhang wei"
    "name_pinyin_sorted",  # tokens sorted, so either name order meets: "wei zhang"
    "name_is_partial",  # True for 王先生-style callers known only by surname + honorific
    "id_valid",  # True: well-formed with good check digit; False: bad; None: no id
    "id_masked",  # True when the id is masked (110101********1234)
    "id_birth_date",  # birth date encoded in a CN resident id
    "id_gender",  # gender encoded in a CN resident id
    "unparsed_fields",  # space-separated canonical fields whose non-empty raw value did not parse
)

ID_TYPES: tuple[str, ...] = (
    "CN_RID",
    "PASSPORT",
    "HKMO_PERMIT",
    "TW_PERMIT",
    "FOREIGN_PR",
    "OTHER",
)
RISK_LEVELS: tuple[str, ...] = ("C1", "C2", "C3", "C4", "C5")
PRODUCT_RISKS: tuple[str, ...] = ("R1", "R2", "R3", "R4", "R5")
GENDERS: tuple[str, ...] = ("M", "F", "U")
LIST_FLAGS: tuple[str, ...] = ("red", "black")


# The transactions feed (a `kind: transactions` channel): not a customer record, so not mapped
# onto the fields above. customer_ref is a source record id within the feed's ref_channel.
TRANSACTION_FIELDS: tuple[str, ...] = (
    "customer_ref",
    "txn_at",
    "amount_cny",
    "product_code",
    "product_risk",  # R1..R5
    "txn_type",
)
REQUIRED_TRANSACTION_FIELDS: tuple[str, ...] = ("customer_ref", "txn_at", "amount_cny")


# A row that cannot be used, as the quarantine table keeps it: where it came from, the raw row
# and every reason.
REJECT_COLUMNS: tuple[str, ...] = (
    "source_system",
    "source_record_id",
    "source_file",
    "source_row",
    "raw_payload",
    "reasons",
)


KEY_SEPARATOR = ":"  # between source_system and source_record_id in a record key


def record_key(source_system: str, source_record_id: str) -> str:
    """One string that names a source record everywhere (pairs, clusters, tasks)."""
    return f"{source_system}{KEY_SEPARATOR}{source_record_id}"


def split_record_key(key: str) -> tuple[str, str]:
    """(source_system, source_record_id) of a record key; channel names hold no separator."""
    system, _, record_id = key.partition(KEY_SEPARATOR)
    return system, record_id


def record_key_index(systems: Iterable[Any], record_ids: Iterable[Any]) -> pd.Index:
    """record_key of each (system, record id) pair, as an object-dtype index: lookups by key
    downstream (matching, merging, loading) are several times slower on Arrow-backed strings."""
    return pd.Index(
        [
            record_key(system, record_id)
            for system, record_id in zip(systems, record_ids, strict=True)
        ],
        dtype=object,
    )


def split_record_keys(keys: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """split_record_key over many keys: (systems, record ids) as object arrays."""
    parts = pd.Series(keys.to_numpy(), dtype=object).str.partition(KEY_SEPARATOR)
    return parts[0].to_numpy(dtype=object), parts[2].to_numpy(dtype=object)
