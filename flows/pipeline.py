"""The parent flow: ingest → validate → dedupe → enrich → load, in one warehouse transaction."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from pydantic import BaseModel
from sqlalchemy.orm import Session

from flows.dedupe import dedupe_flow
from flows.enrich import TransactionFeed, enrich_flow
from flows.ingest import ingest_channel, ingest_flow, repeated_deliveries
from flows.local_data import unwalked
from flows.validate import check_tables, validate_flow
from mdm.channels.config import ChannelsConfig, load_channels
from mdm.errors import MdmError
from mdm.matching import MatchSettings
from mdm.schema import REJECT_COLUMNS
from mdm.segments.config import find_segment_rules
from mdm.settings import ProcessSettings
from warehouse.db import create_warehouse_engine, migrate
from warehouse.run_output import RunOutput
from warehouse.runs import fail_run, start_run, write_run
from warehouse.state import WarehouseState, delivered_files, read_current_segments, read_state

T = TypeVar("T")


class RunSettings(BaseModel):
    """Per-run parameters of the pipeline flow (what a deployment's schedule passes)."""

    sources_dir: Path
    match_upper: float = MatchSettings().upper
    match_lower: float = MatchSettings().lower
    build_docs: bool = True
    segments_file: Path | None = None  # default: segments.yaml beside channels.yaml, if any
    as_of: dt.date | None = None  # the run date segment rules measure from; default today


@dataclass
class RunSummary:
    """What a run did, for the CLI and for `pipeline_run.counts`. Holds no personal data."""

    run_id: str
    rows_read: dict[str, int]
    quarantined: dict[str, int]
    customers_total: int = 0
    customers_created: int = 0
    customers_updated: int = 0
    customers_retired: int = 0
    merges: int = 0
    tasks_opened: int = 0
    tasks_by_type: dict[str, int] = field(default_factory=dict)
    blocking_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    report_path: str | None = None
    repeated_files: list[dict[str, str]] = field(default_factory=list)  # channel, file, same_as
    transactions_read: dict[str, int] = field(default_factory=dict)  # per transactions feed
    transactions_linked: int = 0  # rolled up to a customer; the rest are quarantined


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, stage: str, step: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return step()
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)


@task(cache_policy=NO_CACHE)
def load_task(engine_url: str, output: RunOutput) -> dict[str, int]:
    """Write the whole run in one transaction: all of it lands, or none of it."""
    engine = create_warehouse_engine(engine_url)
    try:
        with Session(engine) as session, session.begin():
            return write_run(session, output)
    finally:
        engine.dispose()


@flow(name="customer-mdm")
def pipeline_flow(settings: RunSettings) -> RunSummary:
    """Run the whole pipeline on the channels of settings.sources_dir."""
    try:
        return _run(settings)
    except MdmError as exc:  # the user's input: fail the run with one clear line, no traceback
        return Failed(message=str(exc), data=exc)  # type: ignore[return-value]


def _transaction_feeds(config: ChannelsConfig) -> list[TransactionFeed]:
    """Read every transactions feed with the channel reader; enrich parses and links them."""
    feeds = []
    for channel in config.transactions:
        batch = ingest_channel(config, channel)
        assert channel.ref_channel is not None  # checked by load_channels
        feeds.append(
            TransactionFeed(channel.name, channel.ref_channel, batch.records, batch.rejects)
        )
    return feeds


def _previous(state: WarehouseState, segments: pd.DataFrame) -> pd.DataFrame:
    """What the warehouse held before this run: AUM and value tier per customer."""
    tiers = segments.loc[segments["segment_type"] == "value_tier"].set_index("customer_id")
    previous = pd.DataFrame({"aum_cny": state.customers.get("aum_cny", pd.Series(dtype=float))})
    return previous.join(tiers["segment_value"].rename("value_tier"), how="outer")


def _run(settings: RunSettings) -> RunSummary:
    process = ProcessSettings()
    watch = _Stopwatch()
    run_id = str(uuid.uuid4())
    config = load_channels(settings.sources_dir)
    rules = find_segment_rules(settings.sources_dir, settings.segments_file)
    as_of = settings.as_of or dt.date.today()
    batches = watch.run("ingest", lambda: ingest_flow(config))
    feeds = watch.run("transactions", lambda: _transaction_feeds(config))
    records = pd.concat([b.records for b in batches])
    read_rejects = pd.concat([b.rejects for b in batches], ignore_index=True)

    engine = create_warehouse_engine(process.warehouse_url)
    try:
        migrate(engine)
        with Session(engine) as session, session.begin():
            start_run(session, run_id=run_id, sources_dir=str(settings.sources_dir))
        try:
            docs_dir = (process.reports_dir / run_id).resolve() if settings.build_docs else None
            validation = watch.run("validate", lambda: validate_flow(records, docs_dir))
            with Session(engine) as session:
                state = read_state(session)
                repeated = repeated_deliveries(batches, delivered_files(session))
                previous = _previous(state, read_current_segments(session))
            match_settings = MatchSettings(upper=settings.match_upper, lower=settings.match_lower)
            deduped = watch.run(
                "dedupe",
                lambda: dedupe_flow(validation.valid, state, match_settings, validation.warnings),
            )
            enriched = watch.run(
                "enrich",
                lambda: enrich_flow(
                    deduped.customers,
                    customer_of=deduped.xref["customer_id"],
                    feeds=feeds,
                    previous=previous,
                    rules=rules,
                    as_of=as_of,
                ),
            )
            quarantined = pd.concat(
                [
                    read_rejects,
                    validation.quarantined.reset_index(drop=True),
                    enriched.quarantined,
                ],
                ignore_index=True,
            )[list(REJECT_COLUMNS)]
            summary = RunSummary(
                run_id=run_id,
                rows_read={b.channel: b.rows_read for b in batches},
                quarantined=dict(Counter(quarantined["source_system"])),
                customers_total=len(deduped.customers),
                merges=deduped.merges,
                blocking_counts=deduped.blocking_counts,
                report_path=str(docs_dir / "index.html") if docs_dir else None,
                repeated_files=repeated,
                transactions_read={f.channel: len(f.mapped) + len(f.rejects) for f in feeds},
                transactions_linked=enriched.transactions_linked,
            )
            output = RunOutput(
                run_id=run_id,
                records=validation.valid,
                xref=deduped.xref.loc[deduped.rematched],
                customers=enriched.customers,
                retired_customer_ids=deduped.retired_customer_ids,
                segments=enriched.segments,
                tasks=deduped.tasks + enriched.tasks,
                alerts=enriched.alerts,
                segments_as_of=as_of,
                quarantined=quarantined,
                counts={
                    "rows_read": summary.rows_read,
                    "files": {b.channel: b.file_hashes for b in batches},
                    "repeated_files": repeated,
                    "quarantined": summary.quarantined,
                    "customers_total": summary.customers_total,
                    "merges": summary.merges,
                    "blocking": summary.blocking_counts,
                    "transactions_read": summary.transactions_read,
                    "transactions_linked": summary.transactions_linked,
                },
                match_parameters=deduped.parameters,
                report_path=summary.report_path,
                match_keys=deduped.match_keys,
                refreshed_keys=deduped.refreshed_keys,
            )
            check_tables({"customer_xref": output.xref, "customer_segment": output.segments})
            changes = watch.run("load", lambda: load_task(process.warehouse_url, unwalked(output)))
        except Exception as exc:
            with Session(engine) as session, session.begin():
                fail_run(session, run_id=run_id, error=f"{type(exc).__name__}: {exc}"[:2000])
            raise
    finally:
        engine.dispose()
    summary.customers_created = changes["customers_created"]
    summary.customers_updated = changes["customers_updated"]
    summary.customers_retired = changes["customers_retired"]
    summary.tasks_opened = changes["tasks_opened"]
    summary.tasks_by_type = {
        key.removeprefix("tasks_opened_"): count
        for key, count in changes.items()
        if key.startswith("tasks_opened_")
    }
    summary.timings = watch.timings
    return summary


def run_pipeline(settings: RunSettings) -> RunSummary:
    """Run the flow; a user error comes back as MdmError with its one-line message."""
    load_channels(settings.sources_dir)  # configuration mistakes fail before Prefect starts
    state = pipeline_flow(settings, return_state=True)
    if state.is_failed():
        error: Any = state.result(raise_on_failure=False)
        if isinstance(error, BaseException):  # MdmError for the user's input, else our bug
            raise error
        raise MdmError(state.message or "the pipeline failed")
    result: RunSummary = state.result()
    return result
