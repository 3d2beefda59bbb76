"""One run per warehouse (issue 12 rows 1, 8, 9): a second run waits for the first, a run that
dies or is stopped leaves no lock and no `running` row behind."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from helpers.warehouse_io import run_into, second_delivery
from sqlalchemy.orm import Session

from mdm.testbed.evaluate import pairwise_scores, read_predicted, read_truth
from mdm.testbed.generate import generate
from warehouse.db import migrate
from warehouse.lock import WarehouseBusy, warehouse_lock
from warehouse.runs import start_run

ROOT = Path(__file__).parents[1]


def mdm_process(*args: str, url: str, cwd: Path, **environ: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "MDM_WAREHOUSE_URL": url,
        "MDM_REPORTS_DIR": str(cwd / "reports"),
        **environ,
    }
    env.pop("MDM_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "mdm.cli.app", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a signal to the test's group never reaches it by accident
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def runs(url: str) -> list[sa.Row]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT run_id, status, started_at, finished_at, error FROM pipeline_run"
                " ORDER BY started_at"
            )
        ).all()
    engine.dispose()
    return list(rows)


def channel_subset(full: Path, into: Path, channels: set[str]) -> Path:
    """A delivery of some of the generated channels only, with the truth of their records."""
    shutil.copytree(full, into)
    config = yaml.safe_load((into / "channels.yaml").read_text(encoding="utf-8"))
    config["channels"] = {
        name: spec
        for name, spec in config["channels"].items()
        if name in channels or name.removesuffix("_txn") in channels
    }
    (into / "channels.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return into


@pytest.fixture(scope="module")
def delivery(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lock_delivery")
    generate(folder, customers=300, seed=12)
    return folder


def test_row1_a_second_run_waits_then_names_the_holder(
    delivery: Path, warehouse_url: str, tmp_path: Path
) -> None:
    engine = sa.create_engine(warehouse_url)
    migrate(engine)
    with warehouse_lock(engine, wait_seconds=0):
        with Session(engine) as session, session.begin():
            start_run(session, run_id="holder-run", sources_dir="elsewhere")
        waiting = mdm_process(
            "run", "--sources", str(delivery), "--no-docs", "--wait", "1",
            url=warehouse_url, cwd=tmp_path,
        )  # fmt: skip
        code, stderr = finish(waiting)
    engine.dispose()
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("mdm: waiting up to 1 s for run holder-run")
    assert lines[-1].startswith("mdm: error: run holder-run (started ")
    assert "gave up waiting after 1 s" in lines[-1]
    assert "Traceback" not in stderr
    # the waiting run wrote nothing: no row of its own, the holder's untouched
    assert [(row.run_id, row.status) for row in runs(warehouse_url)] == [("holder-run", "running")]


@pytest.mark.slow
def test_row1_two_different_deliveries_at_once_run_one_after_the_other(
    delivery: Path, warehouse_url: str, tmp_path: Path
) -> None:
    first = channel_subset(delivery, tmp_path / "first", {"branch", "app"})
    second = channel_subset(delivery, tmp_path / "second", {"fund", "callcenter", "thirdparty"})
    started = [
        mdm_process("run", "--sources", str(folder), "--no-docs", url=warehouse_url, cwd=tmp_path)
        for folder in (first, second)
    ]
    results = [finish(process) for process in started]
    assert [code for code, _ in results] == [0, 0], results

    done = runs(warehouse_url)
    assert [row.status for row in done] == ["success", "success"]
    assert done[0].finished_at <= done[1].started_at  # the second waited for the first
    engine = sa.create_engine(warehouse_url)
    with Session(engine) as session:
        scores = pairwise_scores(read_predicted(session), read_truth(delivery / "truth.csv"))
        ids = session.execute(sa.text("SELECT customer_id FROM customer")).scalars().all()
    engine.dispose()
    assert len(ids) == len(set(ids))
    assert scores.precision >= 0.99, scores  # both runs numbering the same ids gave 0.444


def test_row9_a_killed_run_leaves_no_lock_and_its_row_is_reconciled(
    delivery: Path, tmp_path: Path
) -> None:
    """kill -9 while holding the warehouse: the OS drops the lock, the next run marks the dead
    run failed. (SQLite: the lock is a file lock; PostgreSQL's advisory lock dies with the
    connection the same way, checked by the row-8 test.)"""
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    holder = (
        "import sys, time, sqlalchemy as sa\n"
        "from sqlalchemy.orm import Session\n"
        "from warehouse.db import migrate\n"
        "from warehouse.lock import warehouse_lock\n"
        "from warehouse.runs import start_run\n"
        f"engine = sa.create_engine({url!r}); migrate(engine)\n"
        "with warehouse_lock(engine, wait_seconds=0):\n"
        "    with Session(engine) as s, s.begin():\n"
        "        start_run(s, run_id='doomed-run', sources_dir='x')\n"
        "    print('holding', flush=True); time.sleep(600)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "holding"
    engine = sa.create_engine(url)
    with pytest.raises(WarehouseBusy), warehouse_lock(engine, wait_seconds=0):
        pass
    child.kill()
    child.wait(timeout=30)
    with warehouse_lock(engine, wait_seconds=0):  # free at once: nothing waits for a dead run
        pass
    engine.dispose()

    after = mdm_process("run", "--sources", str(delivery), "--no-docs", url=url, cwd=tmp_path)
    code, stderr = finish(after)
    assert code == 0, stderr
    statuses = {row.run_id: (row.status, row.error) for row in runs(url)}
    status, error = statuses["doomed-run"]
    assert status == "failed"
    assert "ended without finishing" in error
    assert [s for s, _ in statuses.values()].count("success") == 1


def _children(pid: int) -> set[int]:
    """Every live descendant of a process, read from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_row8_sigterm_fails_the_run_and_leaves_no_server_behind(
    delivery: Path, warehouse_url: str, tmp_path: Path
) -> None:
    run = mdm_process(
        "run", "--sources", str(delivery), "--no-docs", url=warehouse_url, cwd=tmp_path
    )
    # SIGTERM once the run holds the warehouse (its `running` row is there) and its
    # temporary Prefect server has started
    deadline = time.monotonic() + 120
    descendants: set[int] = set()
    while time.monotonic() < deadline:
        descendants |= _children(run.pid)
        try:
            if any(row.status == "running" for row in runs(warehouse_url)):
                break
        except sa.exc.SQLAlchemyError:
            pass  # the first run is still creating the tables
        time.sleep(0.2)
    else:
        run.kill()
        pytest.fail("the run never started")
    descendants |= _children(run.pid)
    run.send_signal(signal.SIGTERM)
    code, stderr = finish(run)
    assert code == 143, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in descendants) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in descendants if _alive(pid)]
    [row] = runs(warehouse_url)
    assert row.status == "failed"
    assert "stopped" in row.error
    engine = sa.create_engine(warehouse_url)
    with warehouse_lock(engine, wait_seconds=0):  # the lock went with the run
        pass
    engine.dispose()


IDENTIFIERS = re.compile(r"\d{17}[\dX]|1[3-9]\d{9}|[\w.+-]+@[\w-]+\.[\w.]+")


def test_row4_a_failed_load_leaves_no_identifier_in_stderr_prefect_or_the_run_row(
    delivery: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    code, stderr = finish(
        mdm_process("run", "--sources", str(delivery), "--no-docs", url=url, cwd=tmp_path)
    )
    assert code == 0, stderr
    second = tmp_path / "second"
    second_delivery(delivery, second)  # a new app record: its insert carries an id and e-mail
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TRIGGER refuse BEFORE INSERT ON source_record"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        )
    engine.dispose()
    prefect_home = tmp_path / "prefect-home"
    process = mdm_process(
        "run", "--sources", str(second), "--no-docs", url=url, cwd=tmp_path,
        PREFECT_HOME=str(prefect_home),
    )  # fmt: skip
    code, stderr = finish(process)
    assert code == 2, stderr
    assert stderr.strip().splitlines()[-1] == (
        "mdm: error: the load failed, nothing was written: IntegrityError: disk full"
    )
    failed = [row for row in runs(url) if row.status == "failed"]
    assert [row.error for row in failed] == ["LoadFailed: the load failed, nothing was written:"
                                             " IntegrityError: disk full"]  # fmt: skip
    prefect_db = sa.create_engine(f"sqlite:///{prefect_home / 'prefect.db'}")
    with prefect_db.connect() as connection:
        logged = " ".join(connection.execute(sa.text("SELECT message FROM log")).scalars())
        states = " ".join(
            str(message)
            for message in connection.execute(
                sa.text("SELECT message FROM task_run_state")
            ).scalars()
        )
    prefect_db.dispose()
    assert "disk full" in logged  # the failure was logged, masked
    stored = "".join(path.read_text(errors="replace") for path in prefect_home.rglob("storage/*"))
    for text in (stderr, logged, states, stored, failed[0].error):
        assert not IDENTIFIERS.findall(text)
    assert "[parameters:" not in logged  # SQLAlchemy quotes the statement's values so


def _terminate_lock_backend(url: str, held_pid: int) -> None:
    """What a server restart or a proxy's idle timeout does to the lock's connection."""
    admin = sa.create_engine(url)
    with admin.begin() as connection:
        # with a timeout it waits until the backend has ended (and its locks with it)
        ended = connection.execute(
            sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": held_pid}
        ).scalar_one()
    assert ended
    admin.dispose()


@pytest.mark.postgres
def test_row1_a_lock_whose_connection_died_is_noticed_and_the_warehouse_is_free(
    postgres_url: str,
) -> None:
    from warehouse.lock import LockLost

    engine = sa.create_engine(postgres_url)
    migrate(engine)
    with warehouse_lock(engine, wait_seconds=0) as held:
        with engine.connect() as connection:
            held.check(connection)  # held: no error
        _terminate_lock_backend(postgres_url, held.backend_pid or 0)
        with engine.connect() as connection, pytest.raises(LockLost, match="run it again"):
            held.check(connection)
        # another run may take the warehouse now: which is why the load must check
        with warehouse_lock(sa.create_engine(postgres_url), wait_seconds=0):
            pass
    engine.dispose()


@pytest.mark.postgres
@pytest.mark.usefixtures("prefect_harness")
def test_row1_a_run_that_lost_its_lock_before_the_load_loads_nothing(
    delivery: Path, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flows.pipeline
    from warehouse.lock import LockLost, _lock_key

    checked = flows.pipeline.check_tables

    def lose_the_lock_then_check(tables: dict[str, object]) -> None:
        """Runs just before the load: the run's lock connection dies here."""
        engine = sa.create_engine(postgres_url)
        with engine.connect() as connection:
            database, schema = connection.execute(
                sa.text("SELECT current_database(), current_schema()")
            ).one()
            key = _lock_key(f"customer-mdm run:{database}:{schema}")
            pid = connection.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND ((classid::bigint << 32) | objid::bigint) = (:key)::bigint"
                ),
                {"key": key},
            ).scalar_one()
        engine.dispose()
        _terminate_lock_backend(postgres_url, pid)
        checked(tables)  # type: ignore[arg-type]

    monkeypatch.setattr(flows.pipeline, "check_tables", lose_the_lock_then_check)
    with pytest.raises(LockLost, match="nothing was loaded"):
        run_into(delivery, postgres_url, monkeypatch, tmp_path, build_docs=False)
    engine = sa.create_engine(postgres_url)
    with engine.connect() as connection:
        customers = connection.execute(sa.text("SELECT count(*) FROM customer")).scalar_one()
    engine.dispose()
    assert customers == 0
    [(status, error)] = [(row.status, row.error) for row in runs(postgres_url)]
    assert status == "failed" and "lost its lock" in error
