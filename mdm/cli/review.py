"""`mdm review`: list, show and resolve steward tasks from the terminal
(mdm/stewardship/actions.py does the work). Identifiers are shown masked, as everywhere a
person reads them."""

from __future__ import annotations

import csv
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from mdm.cli.common import WarehouseOption, guarded, warehouse_session
from mdm.errors import MdmError
from mdm.masking import mask_value
from mdm.stewardship.explain import explain_parts

app = typer.Typer(no_args_is_help=True, help="Review steward tasks: list, show, resolve.")


class Action(StrEnum):
    confirm = "confirm"
    not_a_match = "not-a-match"
    choose = "choose"
    correct = "correct"
    split_off = "split"  # not `split`: that is a str method
    dismiss = "dismiss"


def masked(value: Any, field: str | None = None) -> Any:
    """Mask identifiers anywhere in a task's details (values sit under 'value' or a field name)."""
    if isinstance(value, dict):
        field = value.get("field", field) if isinstance(value.get("field"), str) else field
        return {
            key: masked(item, key if key not in ("value", "values") else field)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item, field) for item in value]
    return mask_value(field, value)


RuleOption = Annotated[
    str | None, typer.Option("--rule", help="e.g. risk_assessment_expired (see `groups`)")
]
BranchOption = Annotated[str | None, typer.Option("--branch", help="the customer's branch_code")]
ManagerOption = Annotated[
    str | None, typer.Option("--rm", help="the customer's relationship manager")
]
AssignedOption = Annotated[str | None, typer.Option("--assigned", help="assigned to this user")]
TypeOption = Annotated[str | None, typer.Option("--type", help="task type")]


@app.command("list")
def list_command(
    task_type: TypeOption = None,
    status: Annotated[str, typer.Option(help="open | pending | resolved | dismissed")] = "open",
    search: Annotated[str | None, typer.Option(help="customer id, name, or phone")] = None,
    rule: RuleOption = None,
    branch: BranchOption = None,
    rm: ManagerOption = None,
    assigned: AssignedOption = None,
    due: Annotated[
        str | None, typer.Option("--due", help="overdue (past its due date) or today")
    ] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    warehouse: WarehouseOption = None,
) -> None:
    """Tasks, oldest first."""

    def body() -> None:
        from mdm.stewardship.queue import DUE_WHEN, TaskFilter, count_tasks, list_tasks

        if due is not None and due not in DUE_WHEN:
            raise MdmError(f"--due takes {' or '.join(DUE_WHEN)}, not '{due}'")
        where = TaskFilter(task_type, status, None, search, rule, branch, rm, assigned, due)
        with warehouse_session(warehouse, write=True) as session:
            total = count_tasks(session, where=where)
            for task in list_tasks(session, where=where, limit=limit):
                summary = json.dumps(masked(_summary(task.details)), ensure_ascii=False)
                due_text = f"{task.due_on:%Y-%m-%d}" if task.due_on else "-"
                typer.echo(
                    f"{task.task_id:>7}  {task.task_type:<14} p{task.priority}  "
                    f"{task.customer_id or '-':<10}  {task.created_at:%Y-%m-%d}  due {due_text}  "
                    f"{task.assigned_to or '-'}  {summary}"
                )
            typer.echo(f"{total:,} {status} task(s)")

    guarded(body)


@app.command()
def groups(
    task_type: TypeOption = None,
    branch: BranchOption = None,
    rm: ManagerOption = None,
    assigned: AssignedOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Open tasks by type and rule, the largest group first."""

    def body() -> None:
        from mdm.stewardship.queue import TaskFilter, task_groups

        where = TaskFilter(task_type, branch=branch, relationship_manager=rm, assigned_to=assigned)
        with warehouse_session(warehouse, write=True) as session:
            for group in task_groups(session, where=where):
                typer.echo(f"{group.tasks:>9,}  {group.task_type:<14} {group.rule or '-'}")

    guarded(body)


BULK_ACTIONS = (Action.confirm, Action.not_a_match, Action.dismiss)


@app.command()
def bulk(
    action: Annotated[Action, typer.Option("--action", help="confirm, not-a-match or dismiss")],
    by: Annotated[str, typer.Option("--by", help="who decides")],
    reason: Annotated[str, typer.Option("--reason", help="why")],
    task_type: TypeOption = None,
    rule: RuleOption = None,
    branch: BranchOption = None,
    rm: ManagerOption = None,
    assigned: AssignedOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Decide every open task the filters select, each audited on its own; over
    MDM_FOUR_EYES_BULK tasks the whole action waits for a second steward."""

    def body() -> None:
        from mdm.stewardship import approvals
        from mdm.stewardship.queue import TaskFilter, task_ids

        if action not in BULK_ACTIONS:
            raise MdmError("bulk takes --action confirm, not-a-match or dismiss")
        if not any((task_type, rule, branch, rm, assigned)):
            raise MdmError("bulk needs a filter: --type, --rule, --branch, --rm or --assigned")
        where = TaskFilter(task_type, "open", None, None, rule, branch, rm, assigned)
        with warehouse_session(warehouse, write=True) as session:
            requests = [
                _request(task_id, action, reason=reason)
                for task_id in task_ids(session, where=where)
            ]
            outcome = approvals.decide_many(
                session, requests, by=by, rules=approvals.FourEyes.configured()
            )
            typer.echo(f"{len(outcome.decisions):,} of {len(requests):,} tasks decided by {by}")
            if outcome.pending is not None:
                _say(approvals.Outcome([], outcome.pending))

    guarded(body)


@app.command()
def assign(
    to: Annotated[str, typer.Option("--to", help="a user or a team; empty: unassign")],
    by: Annotated[str, typer.Option("--by", help="who assigns")],
    task_type: TypeOption = None,
    rule: RuleOption = None,
    branch: BranchOption = None,
    rm: ManagerOption = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Give every open task the filters select to a user or a team, each audited."""

    def body() -> None:
        from mdm.stewardship.actions import assign_tasks
        from mdm.stewardship.queue import TaskFilter, task_ids

        if not any((task_type, rule, branch, rm)):
            raise MdmError("assign needs a filter: --type, --rule, --branch or --rm")
        where = TaskFilter(task_type, "open", None, None, rule, branch, rm)
        with warehouse_session(warehouse, write=True) as session:
            count = assign_tasks(session, task_ids=task_ids(session, where=where), to=to, by=by)
            typer.echo(f"{count:,} tasks assigned to {to or 'nobody'} by {by}")

    guarded(body)


def _summary(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if key != "parts"}


@app.command()
def show(
    task_id: Annotated[int, typer.Argument()],
    warehouse: WarehouseOption = None,
) -> None:
    """One task: its details, the records involved side by side, why they matched."""

    def body() -> None:
        from mdm.stewardship.queue import get_task, source_records

        with warehouse_session(warehouse, write=True) as session:
            task = get_task(session, task_id=task_id)
            typer.echo(
                f"task {task.task_id}: {task.task_type}, {task.status}, priority {task.priority}, "
                f"customer {task.customer_id or '-'}"
            )
            typer.echo(json.dumps(masked(_summary(task.details)), ensure_ascii=False, indent=2))
            keys = [task.details[k] for k in ("left", "right", "record") if k in task.details]
            records = source_records(session, keys=keys)
            for key, record in records.items():
                shown = {f: mask_value(f, v) for f, v in record.items() if v is not None}
                typer.echo(f"\n{key}:\n" + json.dumps(shown, ensure_ascii=False, indent=2))
            if "parts" in task.details and len(records) == 2:
                left, right = records.values()
                typer.echo("\nwhy:")
                for line in explain_parts(task.details["parts"], left, right):
                    typer.echo(f"  {line.weight:+6.1f}  {line.text}")

    guarded(body)


@app.command()
def resolve(
    task_id: Annotated[int, typer.Argument()],
    action: Annotated[Action, typer.Option("--action")],
    by: Annotated[str, typer.Option("--by", help="who decides")],
    reason: Annotated[str, typer.Option("--reason", help="why")],
    field: Annotated[str | None, typer.Option("--field")] = None,
    value: Annotated[str | None, typer.Option("--value")] = None,
    records: Annotated[str | None, typer.Option("--records", help="K1,K2 to split off")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Decide a task; the decision is audited and holds on every later run. A risky one
    (a high-tier customer's merge, split or value) waits for a second steward's approval."""

    def body() -> None:
        from mdm.stewardship import approvals

        request = _request(
            task_id, action, reason=reason, field=field, value=value, records=records
        )
        with warehouse_session(warehouse, write=True) as session:
            outcome = approvals.decide(
                session, request, by=by, rules=approvals.FourEyes.configured()
            )
            _say(outcome)

    guarded(body)


# the CLI's action words, to the steward_decision action each runs
ACTION_NAMES = {
    Action.confirm: "confirm_match",
    Action.not_a_match: "not_a_match",
    Action.dismiss: "dismiss",
    Action.split_off: "split_customer",
    Action.choose: "choose_value",
    Action.correct: "correct_value",
}


def _request(
    task_id: int,
    action: Action,
    *,
    reason: str,
    field: str | None = None,
    value: str | None = None,
    records: str | None = None,
) -> Any:
    from mdm.stewardship.approvals import Request

    if action is Action.split_off and not records:
        raise MdmError("split needs --records K1,K2")
    keys = tuple(key.strip() for key in (records or "").split(",") if key.strip())
    return Request(task_id, ACTION_NAMES[action], reason, field, value, keys)


def _say(outcome: Any) -> None:
    for decision in outcome.decisions:
        status = "dismissed" if decision.action == "dismiss" else "resolved"
        typer.echo(
            f"task {decision.task_id} {status} by {decision.decided_by} "
            f"(decision {decision.decision_id}: {decision.action})"
        )
    change = outcome.pending
    if change is not None and change.status == "pending":
        typer.echo(
            f"change {change.change_id} waits for a second steward "
            f"({change.needs_approval_because}): mdm review approve {change.change_id} --by NAME"
        )


CSV_COLUMNS = ("task_id", "action", "reason")  # required; field, value, records optional


@app.command("resolve-csv")
def resolve_csv(
    path: Annotated[
        Path, typer.Argument(help="CSV: task_id, action, reason[, field, value, records]")
    ],
    by: Annotated[str, typer.Option("--by", help="who decides")],
    warehouse: WarehouseOption = None,
) -> None:
    """Decide many tasks from a CSV of decisions, each audited on its own; all or none: a row
    that cannot be applied stops the whole file, naming the row, and nothing is changed."""

    def body() -> None:
        from mdm.stewardship import approvals

        rows = _decision_rows(path)
        requests = []
        for number, row in rows:
            try:
                requests.append(
                    _request(
                        int(row["task_id"]),
                        Action(row["action"]),
                        reason=row["reason"],
                        field=row.get("field") or None,
                        value=row.get("value") or None,
                        records=row.get("records") or None,
                    )
                )
            except MdmError as exc:
                raise MdmError(f"{path} row {number}: {exc}; nothing was changed") from exc
        with warehouse_session(warehouse, write=True) as session:
            try:
                outcome = approvals.decide_many(
                    session, requests, by=by, rules=approvals.FourEyes.configured()
                )
            except approvals.DecisionError as exc:
                number = rows[exc.index][0]
                raise MdmError(f"{path} row {number}: {exc}; nothing was changed") from exc
            typer.echo(f"{len(outcome.decisions)} tasks decided by {by} from {path}")
            if outcome.pending is not None:
                _say(approvals.Outcome([], outcome.pending))

    guarded(body)


@app.command("pending")
def pending_command(warehouse: WarehouseOption = None) -> None:
    """Changes waiting for a second steward, oldest first."""

    def body() -> None:
        from mdm.stewardship.approvals import pending_changes

        with warehouse_session(warehouse, write=True) as session:
            changes = pending_changes(session)
            for change in changes:
                tasks = ",".join(str(t) for t in change.task_ids[:10])
                more = f" (+{len(change.task_ids) - 10})" if len(change.task_ids) > 10 else ""
                typer.echo(
                    f"{change.change_id:>6}  {change.action:<15} {change.customer_id or '-':<10}  "
                    f"by {change.requested_by}  {change.requested_at:%Y-%m-%d %H:%M}  "
                    f"tasks {tasks}{more}  {change.needs_approval_because}"
                )
            typer.echo(f"{len(changes)} change(s) waiting for approval")

    guarded(body)


@app.command()
def approve(
    change_id: Annotated[int, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="who checks (not the maker)")],
    reason: Annotated[str | None, typer.Option("--reason", help="why")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Approve another steward's pending change: it is applied now, and both are audited."""

    def body() -> None:
        from mdm.stewardship import approvals

        with warehouse_session(warehouse, write=True) as session:
            outcome = approvals.approve(session, change_id=change_id, by=by, reason=reason)
            _say(outcome)
            typer.echo(f"change {change_id} approved by {by}")

    guarded(body)


@app.command()
def reject(
    change_id: Annotated[int, typer.Argument()],
    by: Annotated[str, typer.Option("--by", help="who checks (not the maker)")],
    reason: Annotated[str, typer.Option("--reason", help="why")],
    warehouse: WarehouseOption = None,
) -> None:
    """Reject another steward's pending change: nothing changes, its tasks are open again."""

    def body() -> None:
        from mdm.stewardship import approvals

        with warehouse_session(warehouse, write=True) as session:
            approvals.reject(session, change_id=change_id, by=by, reason=reason)
            typer.echo(f"change {change_id} rejected by {by}; its tasks are open again")

    guarded(body)


def _decision_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """The file's rows with their line numbers, each checked before anything is decided."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise MdmError(f"{path}: no column '{missing[0]}' (needs {', '.join(CSV_COLUMNS)})")
            rows = [(number, row) for number, row in enumerate(reader, start=2)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise MdmError(f"{path}: cannot read decisions: {exc}") from exc
    actions = {a.value for a in Action}
    for number, row in rows:
        if not (row.get("task_id") or "").strip().isdigit():
            raise MdmError(f"{path} row {number}: task_id must be a number")
        if row.get("action") not in actions:
            raise MdmError(
                f"{path} row {number}: action must be one of {', '.join(sorted(actions))}"
            )
        if not (row.get("reason") or "").strip():
            raise MdmError(f"{path} row {number}: a decision needs a reason")
    return rows
