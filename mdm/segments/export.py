"""Writing lists for people's tools: CSV that Excel opens as Chinese and cannot execute."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralized(value: Any) -> str:
    """The cell as text; a leading apostrophe makes a would-be formula plain text."""
    text = "" if value is None or value != value else str(value)  # NaN != NaN
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_excel_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """UTF-8 with a byte-order mark (without it Excel reads Chinese as GBK mojibake).

    Returns the number of rows written.
    """
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralized(name) for name in header])
        for row in rows:
            writer.writerow([neutralized(value) for value in row])
            count += 1
    return count
