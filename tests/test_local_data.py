"""Subflows that carry customer data (flows/local_data.py): Prefect neither records their
arguments nor walks what they return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from flows.local_data import local_data_flow


class _Untouchable(list[dict[str, Any]]):
    """A list that fails whoever walks it: Prefect looking for futures in a flow's result."""

    def __iter__(self) -> Any:
        raise AssertionError("the flow's result was walked")


@dataclass
class _Result:
    tasks: list[dict[str, Any]] = field(default_factory=list)


@local_data_flow(name="returns-tasks")
def _returns_tasks(count: int) -> _Result:
    return _Result(tasks=_Untouchable({"task_key": str(n)} for n in range(count)))


@pytest.mark.usefixtures("prefect_harness")
def test_the_caller_gets_the_result_itself_unwalked() -> None:
    result = _returns_tasks(3)
    assert isinstance(result, _Result)
    assert isinstance(result.tasks, _Untouchable)
    assert len(result.tasks) == 3
