"""The `mdm` command line: generate, run, demo, evaluate, what-if.

User errors print one line naming the problem and exit 2; they never show a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from typing import Annotated, Any

# Settings that must be in place before Prefect or GX are imported (both read them at import).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
# The temporary Prefect server of a one-off run can take longer than Prefect's 20 s to start
# on a busy two-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
if not os.environ.get("MDM_DEBUG"):
    # The terminal gets our summary and one-line errors; Prefect's own logs (tracebacks
    # included) still reach the Prefect server, where engineers look for them.
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")

import typer

from mdm.cli import review as cli_review
from mdm.cli import segments as cli_segments
from mdm.cli import web as cli_web
from mdm.cli.common import (
    WarehouseOption,
    guarded,
    stopped_by_sigterm,
    use_warehouse,
    warehouse_session,
)
from mdm.cli.whatif import what_if_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="customer-mdm: customer master data for financial CRM.",
)

DEMO_DIR = Path("mdm_demo")


@app.command()
def generate(
    out_dir: Annotated[Path, typer.Argument(help="folder to write the channels into")],
    customers: Annotated[int, typer.Option(min=1, help="number of real persons")] = 2000,
    seed: Annotated[int, typer.Option(help="random seed; same seed, same files")] = 42,
) -> None:
    """Write a synthetic multi-channel data set with ground truth (truth.csv)."""

    def body() -> None:
        from mdm.testbed.generate import generate as generate_data

        started = time.perf_counter()
        summary = generate_data(out_dir, customers=customers, seed=seed)
        typer.echo(
            f"generated {summary.persons} persons into {out_dir} "
            f"in {time.perf_counter() - started:.1f}s"
        )
        for channel, rows in {**summary.rows_per_channel, **summary.rows_per_feed}.items():
            typer.echo(f"  {channel:<12} {rows:>9,} rows")
        typer.echo(f"  truth.csv    {summary.truth_rows:>9,} rows")

    guarded(body)


@app.command()
def run(
    sources: Annotated[Path, typer.Option("--sources", help="folder holding channels.yaml")],
    warehouse: WarehouseOption = None,
    docs: Annotated[bool, typer.Option(help="build the Data Docs report")] = True,
    segments: Annotated[
        Path | None,
        typer.Option("--segments", help="segment rules (default: SOURCES/segments.yaml if any)"),
    ] = None,
    as_of: Annotated[
        dt.datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], help="run date for segments (default today)"),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(min=0, help="seconds to wait for another run that holds the warehouse"),
    ] = 300,
    max_quarantine_rate: Annotated[
        float,
        typer.Option(min=0, max=1, help="fail, loading nothing, above this share quarantined"),
    ] = 0.5,
    fail_on_degenerate_model: Annotated[
        bool, typer.Option(help="fail, loading nothing, when the match model is degenerate")
    ] = False,
    dask: Annotated[
        bool, typer.Option("--dask", help="run the tasks on a Dask LocalCluster of this machine")
    ] = False,
    dask_scheduler: Annotated[
        str | None,
        typer.Option(
            "--dask-scheduler",
            metavar="ADDRESS",
            help="run the tasks on the running Dask scheduler at ADDRESS (tcp://host:8786)",
        ),
    ] = None,
) -> None:
    """Run the whole pipeline on the channels of SOURCES/channels.yaml."""
    from flows.dask import LOCAL_CLUSTER

    run_date = as_of.date() if as_of else None
    options = {
        "max_quarantine_rate": max_quarantine_rate,
        "fail_on_degenerate_model": fail_on_degenerate_model,
        # typer has no option with an optional value: --dask alone, or the scheduler's address
        "dask_address": dask_scheduler or (LOCAL_CLUSTER if dask else None),
    }
    with stopped_by_sigterm():
        guarded(
            lambda: _run(sources, warehouse, docs, segments, run_date, wait_seconds=wait, **options)
        )


def _run(
    sources: Path,
    warehouse: str | None,
    docs: bool,
    segments: Path | None = None,
    as_of: dt.date | None = None,
    *,
    wait_seconds: float = 300,
    **options: Any,
) -> Any:
    url = use_warehouse(warehouse)
    from mdm.channels.config import load_channels
    from mdm.segments.config import find_segment_rules

    load_channels(sources)  # a configuration mistake answers before Prefect and GX load
    find_segment_rules(sources, segments)
    from flows.temporary_server import start_temporary_server

    server_started = start_temporary_server()  # it starts while the flows import
    from flows.pipeline import RunSettings, run_pipeline
    from mdm.cli.report import format_summary

    settings = RunSettings(
        sources_dir=sources,
        build_docs=docs,
        segments_file=segments,
        as_of=as_of,
        wait_seconds=wait_seconds,
        **options,
    )
    server_started()
    summary = run_pipeline(settings)
    typer.echo(format_summary(summary, warehouse_url=url))
    return summary


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="truth.csv from `mdm generate`")],
    warehouse: WarehouseOption = None,
) -> None:
    """Pairwise precision, recall and F1 of customer_xref against ground truth."""
    guarded(lambda: _evaluate(truth, warehouse))


def _evaluate(truth: Path, warehouse: str | None) -> None:
    url = use_warehouse(warehouse)
    from mdm.cli.report import format_evaluation
    from mdm.testbed.evaluate import pairwise_scores, read_predicted, read_truth

    with warehouse_session(url) as session:
        result = pairwise_scores(read_predicted(session), read_truth(truth))
    typer.echo(format_evaluation(result))


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--dir", help="where the demo data goes")] = DEMO_DIR,
    customers: Annotated[int, typer.Option(min=1)] = 2000,
    warehouse: WarehouseOption = None,
) -> None:
    """Generate demo data, run the pipeline into an SQLite file, and evaluate it."""
    url = warehouse or f"sqlite:///{(out_dir / 'warehouse.db').as_posix()}"
    os.environ.setdefault("MDM_REPORTS_DIR", str(out_dir / "reports"))
    generate(out_dir, customers=customers, seed=42)
    from mdm.testbed.generate import AS_OF

    # the demo data is as of the generator's reference date, so its segments are too
    run(
        sources=out_dir,
        warehouse=url,
        docs=True,
        as_of=dt.datetime(AS_OF.year, AS_OF.month, AS_OF.day),
    )
    evaluate(truth=out_dir / "truth.csv", warehouse=url)
    typer.echo(
        f"\nwarehouse: {url}\nnext: see README.md for reading the warehouse "
        "(customer_360, steward_task)"
    )


app.command("what-if")(what_if_command)
app.add_typer(cli_review.app, name="review")
app.add_typer(cli_segments.app, name="segments")
app.add_typer(cli_segments.export_app, name="export")
cli_web.register(app)  # `mdm serve`, `mdm users`


def main() -> None:
    app(prog_name="mdm")


if __name__ == "__main__":
    main()
