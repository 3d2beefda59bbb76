"""The parent flow: ingest → validate → dedupe → enrich → load, in one warehouse transaction."""

from __future__ import annotations

import datetime as dt
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from flows.artifacts import publish_run_outputs, quarantine_reasons
from flows.collector import young_collections_only
from flows.dask import PAIRS_PER_TASK, dask_scheduler, on_dask, pair_comparison
from flows.dedupe import DedupeResult, dedupe_flow, incremental
from flows.enrich import EnrichResult, TransactionFeed, activity_window, enrich_flow
from flows.gates import check_quality_gates
from flows.ingest import ChannelBatch, ingest_channel, ingest_flow, repeated_deliveries
from flows.local_data import unwalked
from flows.progress import report_stage
from flows.retry import BACKOFF_SECONDS, is_transient_db_error, retry_on_transient_load
from flows.secrets import warehouse_url
from flows.validate import ValidationResult, check_tables, validate_flow
from mdm.channels.config import ChannelsConfig, load_channels
from mdm.errors import ConfigError, MdmError
from mdm.masking import install_masked_logging
from mdm.matching import MatchSettings
from mdm.matching.audit import AuditSample
from mdm.matching.config import MATCHING_FILE, load_matching
from mdm.matching.labels import label_summary
from mdm.schema import REJECT_COLUMNS
from mdm.segments.config import find_segment_rules
from mdm.segments.profile import ActivityWindow
from mdm.segments.rules import segment_sizes
from mdm.settings import ProcessSettings
from mdm.stewardship.tasks import route_tasks, task_key
from warehouse.db import create_warehouse_engine
from warehouse.delta_state import previous_of, read_partial_state
from warehouse.run_output import RunOutput
from warehouse.runs import describe_failure, held_run, record_timings, write_run
from warehouse.state import WarehouseState, delivered_files, read_current_segments, read_state

T = TypeVar("T")

# Wherever these flows run (`mdm run`, a deployment's worker), their logs are masked.
install_masked_logging()


class RunSettings(BaseModel):
    """Per-run parameters of the pipeline flow (what a deployment's schedule passes)."""

    sources_dir: Path
    # thresholds of this run; default: matching.yaml's beside channels.yaml, else the engine's
    match_upper: float | None = Field(default=None, gt=0, le=1)
    match_lower: float | None = Field(default=None, gt=0, le=1)
    build_docs: bool = True
    segments_file: Path | None = None  # default: segments.yaml beside channels.yaml, if any
    as_of: dt.date | None = None  # the run date segment rules measure from; default today
    # one run per warehouse: how long to wait for a run that holds it before giving up
    wait_seconds: float = Field(default=300.0, ge=0)
    # quality gates (flows/gates.py): crossing one fails the run before its load
    max_quarantine_rate: float = Field(default=0.5, ge=0, le=1)
    fail_on_degenerate_model: bool = False
    # Dask (flows/dask.py): a scheduler's address, or "local" to start a LocalCluster; None: none
    dask_address: str | None = None
    # on Dask, dedupe compares its candidate pairs in tasks of at most this many pairs each
    dask_pairs_per_task: int = Field(default=PAIRS_PER_TASK, ge=1)


@dataclass
class RunSummary:
    """What a run did, for the CLI and for `pipeline_run.counts` (every field but the run id,
    timings and report path; docs/warehouse.md). Holds no personal data."""

    run_id: str
    rows_read: dict[str, int]
    quarantined: dict[str, int]
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # channel -> file -> sha256
    repeated_files: list[dict[str, str]] = field(default_factory=list)  # channel, file, same_as
    transactions_read: dict[str, int] = field(default_factory=dict)  # per transactions feed
    transactions_linked: int = 0  # rolled up to a customer; the rest are quarantined
    customers_total: int = 0
    merges: int = 0
    blocking_counts: dict[str, int] = field(default_factory=dict)
    # weights against the thresholds, merges per rule, cluster sizes (mdm/matching/profile.py)
    match_profile: dict[str, Any] = field(default_factory=dict)
    # segment type -> value -> customers holding it after the run
    segment_sizes: dict[str, dict[str, int]] = field(default_factory=dict)
    # channel -> quarantine rule -> rows (flows/artifacts.py `quarantine_reasons`)
    quarantine_reasons: dict[str, dict[str, int]] = field(default_factory=dict)
    # what the load changed (warehouse/runs.py `write_run`)
    customers_created: int = 0
    customers_updated: int = 0
    customers_retired: int = 0
    relationships_found: int = 0  # pairs of related customers the run's pairs showed
    tasks_opened: int = 0
    tasks_by_type: dict[str, int] = field(default_factory=dict)
    tasks_open: int = 0  # the stewards' backlog once the run has landed
    segment_changes: int = 0
    alerts_raised: int = 0
    # what steward decisions taught the matcher (mdm/matching/labels.py `label_summary`)
    labels: dict[str, Any] = field(default_factory=dict)
    # the weights of the pairs a threshold can move (mdm/matching/whatif.py `score_histogram`)
    score_histogram: dict[str, Any] = field(default_factory=dict)
    # the audit of automatic merges: sample size, seed, each band's weights, size and draw
    merge_audit: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    report_path: str | None = None

    def counts(self) -> dict[str, Any]:
        """`pipeline_run.counts`: the summary without its run id, timings, report path and
        score histogram (a column of its own)."""
        counted = asdict(self)
        for name in ("run_id", "timings", "report_path", "score_histogram"):
            del counted[name]
        return counted


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, stage: str, step: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            result = step()
        finally:
            self.timings[stage] = round(time.perf_counter() - started, 3)
        report_stage(stage, result, self.timings[stage])  # on a terminal only: flows/progress.py
        return result


class LoadFailed(MdmError):
    """The warehouse refused the run's write; the transaction was rolled back."""


class LoadInterrupted(LoadFailed):
    """The database went away or refused the connection during the load: retried."""


@task(
    cache_policy=NO_CACHE,
    retries=len(BACKOFF_SECONDS),
    retry_delay_seconds=BACKOFF_SECONDS,
    retry_condition_fn=retry_on_transient_load,
)
def load_task(engine_url: str, output: RunOutput) -> dict[str, Any]:
    """Write the whole run in one transaction: all of it lands, or none of it."""
    engine = create_warehouse_engine(engine_url)
    try:
        with Session(engine) as session, session.begin():
            return write_run(session, output)
    except sa.exc.SQLAlchemyError as exc:
        # The database's message carries the statement's parameters (whole customer rows);
        # Prefect would log it and pickle it into its result storage. Only the masked
        # description leaves this task (an exception's chained context is not pickled).
        failed = LoadInterrupted if is_transient_db_error(exc) else LoadFailed
        raise failed(f"the load failed, nothing was written: {describe_failure(exc)}") from None
    finally:
        engine.dispose()


@flow(name="customer-mdm")
def pipeline_flow(settings: RunSettings) -> RunSummary:
    """Run the whole pipeline on the channels of settings.sources_dir."""
    try:
        summary = _run(settings)
    except MdmError as exc:  # the user's input: fail the run with one clear line, no traceback
        return Failed(message=str(exc), data=exc)  # type: ignore[return-value]
    # Prefect artifacts and the HTML run report (beside the Data Docs), counts only
    publish_run_outputs(
        summary, ProcessSettings().reports_dir.resolve() if settings.build_docs else None
    )
    return summary


def _transaction_feeds(config: ChannelsConfig, window: ActivityWindow) -> list[TransactionFeed]:
    """Read every transactions feed with the channel reader, rolled up per ref_key against the
    run's `window`; enrich links them."""
    feeds = []
    for channel in config.transactions:
        batch = ingest_channel(config, channel)
        assert channel.ref_channel is not None  # checked by load_channels
        feeds.append(
            TransactionFeed.parse(
                channel.name, channel.ref_channel, batch.records, batch.rejects, window
            )
        )
    return feeds


@dataclass
class _Before:
    """What the warehouse held before this run, read once under the run's hold on it."""

    state: WarehouseState
    repeated_files: list[dict[str, str]]
    previous: pd.DataFrame  # AUM and value tier per customer


def _say_waiting(wait_seconds: float, holder: str) -> None:
    """One line on stderr: a run that waits silently looks hung."""
    print(f"mdm: waiting up to {wait_seconds:g} s for {holder} to finish", file=sys.stderr)


def routed_tasks(tasks: list[dict[str, Any]], enriched: EnrichResult) -> list[dict[str, Any]]:
    """The run's tasks with due dates from priority, value tier and deadline, and compliance
    follow-ups assigned to the customer's relationship manager (mdm.stewardship.tasks)."""
    segments = enriched.segments
    tiers = segments.loc[segments["segment_type"] == "value_tier"]
    managers = enriched.customers.get("relationship_manager", pd.Series(dtype=object)).dropna()
    return route_tasks(
        tasks,
        tiers=dict(zip(tiers["customer_id"], tiers["segment_value"], strict=True)),
        managers={str(k): str(v) for k, v in managers.items()},
        opened=dt.date.today(),
    )


def _read_state(
    session: Session,
    run_records: pd.DataFrame,
    settings: MatchSettings,
    feeds: list[TransactionFeed],
) -> WarehouseState:
    """Only the delta's neighbourhood when the run will be incremental (warehouse/delta_state.py),
    else everything. A run that brings transactions reads everything: its feed may name any
    customer, whose transaction fields and segments it then changes."""
    if not any(feed.rows_parsed for feed in feeds):  # parsed rows may name any customer
        partial = read_partial_state(
            session,
            run_records,
            max_block_size=settings.max_block_size,
            incremental_share=settings.incremental_share,
        )
        read = partial.partial if partial is not None else None
        if partial is not None and read is not None and incremental(read.delta, partial, settings):
            return partial
    return read_state(session)


def _read_before(
    engine: Engine,
    batches: list[ChannelBatch],
    run_records: pd.DataFrame,
    settings: MatchSettings,
    feeds: list[TransactionFeed],
) -> _Before:
    with Session(engine) as session:
        state = _read_state(session, run_records, settings, feeds)
        repeated = repeated_deliveries(batches, delivered_files(session))
        if state.partial is not None:  # read for the re-survived customers after matching
            return _Before(state, repeated, pd.DataFrame())
        segments = read_current_segments(session)
    tiers = segments.loc[segments["segment_type"] == "value_tier"].set_index("customer_id")
    previous = pd.DataFrame({"aum_cny": state.customers.get("aum_cny", pd.Series(dtype=float))})
    previous = previous.join(tiers["segment_value"].rename("value_tier"), how="outer")
    return _Before(state, repeated, previous)


def _previous(engine: Engine, before: _Before, customer_ids: pd.Index) -> pd.DataFrame:
    """AUM and value tier per customer before the run: all read already, or, after a partial
    read, those of the customers the run re-survived."""
    if before.state.partial is None:
        return before.previous
    with Session(engine) as session:
        return previous_of(session, [str(customer_id) for customer_id in customer_ids])


def _quarantined(
    batches: list[ChannelBatch], validation: ValidationResult, enriched: EnrichResult
) -> pd.DataFrame:
    """Every rejected row of the run: unreadable, invalid, and transactions that link nowhere."""
    parts = [
        *(batch.rejects for batch in batches),
        validation.quarantined.reset_index(drop=True),
        enriched.quarantined,
    ]
    return pd.concat(parts, ignore_index=True)[list(REJECT_COLUMNS)]


def matching_settings(settings: RunSettings) -> MatchSettings:
    """matching.yaml's settings, with the run's own thresholds where it gives them."""
    explicit = {"upper": settings.match_upper, "lower": settings.match_lower}
    try:
        return load_matching(settings.sources_dir).settings(
            **{name: value for name, value in explicit.items() if value is not None}
        )
    except ValueError as exc:  # the run's thresholds against the file's
        raise ConfigError(
            f"{settings.sources_dir / MATCHING_FILE}: thresholds with the run's: {exc}"
        ) from None


def _all_records(batches: list[ChannelBatch]) -> pd.DataFrame:
    """The channels' records in one frame, which only validation holds: the batches let go of
    theirs, so the run never keeps two copies of every record."""
    records = pd.concat([batch.records for batch in batches])
    for batch in batches:
        batch.records = batch.records.iloc[:0]
    return records


def _handed_over(deduped: DedupeResult, enriched: EnrichResult) -> list[dict[str, Any]]:
    """The run's tasks, which the results let go of: routing copies every one, and the load
    needs only the copies."""
    tasks = deduped.tasks + enriched.tasks
    deduped.tasks, enriched.tasks = [], []
    return tasks


def audit_rows(audit: AuditSample | None) -> list[dict[str, Any]]:
    """merge_audit_sample rows of the run's drawn merges: their tasks' keys and bands."""
    if audit is None:
        return []
    pairs = audit.pairs
    return [
        {"task_key": task_key("merge_audit", left, right), "band": int(band)}
        for left, right, band in zip(
            pairs["left_key"], pairs["right_key"], pairs["band"], strict=True
        )
    ]


def _run(settings: RunSettings) -> RunSummary:
    with young_collections_only(), dask_scheduler(settings.dask_address) as scheduler:
        return _run_on(settings, scheduler)


def _run_on(settings: RunSettings, scheduler: str | None) -> RunSummary:
    """The run; ingest, validate and dedupe's comparisons of candidate pairs send their tasks
    to the Dask `scheduler`, if any."""
    process = ProcessSettings()
    watch = _Stopwatch()
    run_id = str(uuid.uuid4())
    config = load_channels(settings.sources_dir)
    rules = find_segment_rules(settings.sources_dir, settings.segments_file)
    as_of = settings.as_of or dt.date.today()
    match_settings = matching_settings(settings)
    docs_dir = (process.reports_dir / run_id).resolve() if settings.build_docs else None
    url = warehouse_url(process)  # the environment or a Prefect Secret block, never a parameter

    batches = watch.run("ingest", lambda: on_dask(ingest_flow, scheduler)(config))
    window = activity_window(rules, as_of)
    feeds = watch.run("transactions", lambda: _transaction_feeds(config, window))
    engine = create_warehouse_engine(url)
    try:
        with held_run(
            engine,
            run_id=run_id,
            sources_dir=str(settings.sources_dir),
            wait_seconds=settings.wait_seconds,
            on_wait=partial(_say_waiting, settings.wait_seconds),
        ) as held:
            validation = watch.run(
                "validate",
                lambda: on_dask(validate_flow, scheduler)(_all_records(batches), docs_dir),
            )
            before = watch.run(
                "read",
                lambda: _read_before(engine, batches, validation.valid, match_settings, feeds),
            )
            deduped = watch.run(
                "dedupe",
                lambda: on_dask(dedupe_flow, scheduler)(
                    validation.valid,
                    before.state,
                    match_settings,
                    validation.warnings,
                    pair_comparison(scheduler, settings.dask_pairs_per_task),
                ),
            )
            enriched = watch.run(
                "enrich",
                lambda: enrich_flow(
                    deduped.customers,
                    customer_of=deduped.xref["customer_id"],
                    feeds=feeds,
                    previous=_previous(engine, before, deduped.customers.index),
                    rules=rules,
                    as_of=as_of,
                ),
            )
            quarantined = _quarantined(batches, validation, enriched)
            audit = deduped.audit
            summary = RunSummary(
                run_id=run_id,
                rows_read={batch.channel: batch.rows_read for batch in batches},
                quarantined=dict(Counter(quarantined["source_system"])),
                quarantine_reasons=quarantine_reasons(quarantined),
                files={batch.channel: batch.file_hashes for batch in batches},
                repeated_files=before.repeated_files,
                transactions_read={f.channel: f.rows_read for f in feeds},
                transactions_linked=enriched.transactions_linked,
                customers_total=deduped.customers_total,
                merges=deduped.merges,
                blocking_counts=deduped.blocking_counts,
                match_profile=deduped.match_profile,
                segment_sizes=segment_sizes(enriched.segments),  # a partial run's: the load's
                labels=label_summary(deduped.parameters),
                score_histogram=deduped.score_histogram,
                merge_audit=audit.counts(match_settings.audit_sample, match_settings.audit_seed)
                if audit
                else {},
                report_path=str(docs_dir / "index.html") if docs_dir else None,
            )
            feeds.clear()  # rolled up and counted: the parsed transactions are not loaded
            output = RunOutput(
                run_id=run_id,
                records=validation.valid,
                xref=deduped.xref.loc[deduped.rematched],
                customers=enriched.customers,
                retired_customer_ids=deduped.retired_customer_ids,
                segments=enriched.segments,
                tasks=routed_tasks(_handed_over(deduped, enriched), enriched),
                alerts=enriched.alerts,
                segments_as_of=as_of,
                quarantined=quarantined,
                counts=summary.counts(),
                match_parameters=deduped.parameters,
                score_histogram=deduped.score_histogram,
                report_path=summary.report_path,
                match_keys=deduped.match_keys,
                refreshed_keys=deduped.refreshed_keys,
                all_match_keys=deduped.all_match_keys,
                calendar_rules=rules if before.state.partial is not None else None,
                first_customer_number=before.state.next_customer_number,
                timings=dict(watch.timings),
                lock=held,
                relationships=deduped.relationships,
                relationships_complete=deduped.matched_all,
                relationships_settled=deduped.settled_customers,
                merged_into=deduped.merged_into,
                audit_sample=audit_rows(audit),
            )
            check_quality_gates(
                rows_read=summary.rows_read,
                quarantined=summary.quarantined,
                match_parameters=deduped.parameters,
                max_quarantine_rate=settings.max_quarantine_rate,
                fail_on_degenerate_model=settings.fail_on_degenerate_model,
            )
            check_tables({"customer_xref": output.xref, "customer_segment": output.segments})
            changes = watch.run("load", lambda: load_task(url, unwalked(output)))
            record_timings(engine, run_id, watch.timings)
    finally:
        engine.dispose()
    return replace(summary, **changes, timings=watch.timings)


def run_pipeline(settings: RunSettings) -> RunSummary:
    """Run the flow; a user error comes back as MdmError with its one-line message."""
    load_channels(settings.sources_dir)  # configuration mistakes fail before Prefect starts
    matching_settings(settings)
    state = pipeline_flow(settings, return_state=True)
    if state.is_failed():
        error: Any = state.result(raise_on_failure=False)
        if isinstance(error, BaseException):  # MdmError for the user's input, else our bug
            raise error
        raise MdmError(state.message or "the pipeline failed")
    result: RunSummary = state.result()
    return result
