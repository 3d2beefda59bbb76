"""The load of `quarantine`: rejected rows with their raw payload and reasons."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.orm import Session

from warehouse.load.bulk import insert_rows
from warehouse.models import Quarantine
from warehouse.run_output import RunOutput
from warehouse.values import json_safe


def write_quarantine(session: Session, output: RunOutput, now: dt.datetime) -> None:
    rows = [
        {
            "run_id": output.run_id,
            "source_system": row["source_system"],
            "source_record_id": row["source_record_id"],
            "source_file": row["source_file"],
            "source_row": int(row["source_row"]),
            "raw_payload": json.loads(row["raw_payload"]),
            "reasons": json_safe(row["reasons"]),
            "created_at": now,
        }
        for row in output.quarantined.to_dict("records")
    ]
    insert_rows(session, Quarantine, rows)
