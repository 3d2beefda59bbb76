"""Match quality against ground truth: pairwise precision, recall and F1.

Pairs are counted from cluster sizes (n choose 2), never enumerated, so a million records
evaluate in seconds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mdm.errors import MdmError
from mdm.schema import record_key_index
from warehouse.models import CustomerXref

TRUTH_COLUMNS = ("source_system", "source_record_id", "person_id")


@dataclass(frozen=True)
class Evaluation:
    records: int  # records in both the warehouse and the truth
    missing_from_warehouse: int  # truth records not in customer_xref (quarantined)
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    customers: int
    persons: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> Evaluation:
    """Both series are indexed by record key: predicted cluster and true entity."""
    common = predicted.index.intersection(truth.index)
    frame = pd.DataFrame({"cluster": predicted.loc[common], "entity": truth.loc[common]})
    return Evaluation(
        records=len(frame),
        missing_from_warehouse=len(truth.index.difference(predicted.index)),
        true_pairs=_pairs(frame.groupby("entity").size()),
        predicted_pairs=_pairs(frame.groupby("cluster").size()),
        correct_pairs=_pairs(frame.groupby(["cluster", "entity"]).size()),
        customers=frame["cluster"].nunique(),
        persons=frame["entity"].nunique(),
    )


def write_truth(path: Path, rows: Iterable[Sequence[str]]) -> None:
    """truth.csv: one (source_system, source_record_id, person_id) row per generated record."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRUTH_COLUMNS)
        writer.writerows(rows)


def read_truth(path: Path) -> pd.Series:
    """truth.csv → person_id by record key."""
    try:
        truth = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise MdmError(f"{path}: cannot read truth file: {exc}") from exc
    missing = [c for c in TRUTH_COLUMNS if c not in truth.columns]
    if missing:
        raise MdmError(f"{path}: truth file lacks column '{missing[0]}' (needs {TRUTH_COLUMNS})")
    keys = record_key_index(truth["source_system"], truth["source_record_id"])
    return pd.Series(truth["person_id"].to_numpy(), index=keys)


def read_predicted(session: Session) -> pd.Series:
    """customer_id by record key, from customer_xref."""
    query = sa.select(
        CustomerXref.source_system, CustomerXref.source_record_id, CustomerXref.customer_id
    )
    xref = pd.read_sql(query, session.connection())
    keys = record_key_index(xref["source_system"], xref["source_record_id"])
    return pd.Series(xref["customer_id"].to_numpy(), index=keys)
