"""Handing customer data to subflows and tasks in process, without Prefect's bookkeeping.

Prefect stores every flow run's parameters in its database, JSON-encoding whatever it can: a
DataFrame of records goes in whole (names, ID numbers, phones: PII where nobody reviews it),
and on a large run the warnings list alone exceeds the API's 512 KB limit, which fails the run.
A flow made with ``local_data_flow`` records each parameter as its type name only, and its run
context forgets them as it returns.

Prefect also walks a flow's return value, every list and dict and dataclass in it, looking for
futures to resolve: on a run of 300,000 records the tasks, warnings and alerts that the dedupe
and enrich flows return took it 3.7 million visits. Such a flow hands its result back quoted,
which Prefect does not walk, and its caller gets the result itself.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Flow
from prefect.context import FlowRunContext
from prefect.utilities.annotations import quote

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class LocalDataFlow(Flow[P, R]):
    """A flow whose run parameters are recorded as ``<TypeName>`` placeholders."""

    def serialize_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        return {key: f"<{type(value).__name__}>" for key, value in parameters.items()}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        result = super().__call__(*args, **kwargs)
        return result.unwrap() if isinstance(result, quote) else result

    def with_options(self, **options: Any) -> LocalDataFlow[P, R]:
        # Prefect's copy is a plain Flow, which would record the records as parameters again
        # (a run on Dask is a copy with another task runner: flows/dask.py)
        copied = super().with_options(**options)
        copied.__class__ = LocalDataFlow
        return cast(LocalDataFlow[P, R], copied)


def _forget_parameters() -> None:
    """Empty the finished flow run's record of its parameters. Contexts copied while the flow
    ran (the timers of Prefect's client calls on its event loop thread) keep its run context
    for a minute after it ends, and with it the parameters: a run's whole input frame, beside
    everything the next stages make."""
    context = FlowRunContext.get()
    if context is not None and context.parameters:
        context.parameters.clear()


def local_data_flow(name: str, **options: Any) -> Callable[[Callable[P, R]], Flow[P, R]]:
    """Like ``@flow(name=...)``, for flows whose parameters hold customer data."""

    def decorate(function: Callable[P, R]) -> Flow[P, R]:
        @functools.wraps(function)
        def quoted(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return cast(R, quote(function(*args, **kwargs)))
            finally:
                _forget_parameters()

        # Prefect would check the arguments against the function's annotations, which the
        # wrapper's module cannot resolve; only the pipeline calls these flows, typed by mypy.
        return LocalDataFlow(quoted, name=name, validate_parameters=False, **options)

    return decorate


def unwalked(value: T) -> T:
    """A task argument Prefect passes on as it is, without walking it for futures first: a list
    of 300,000 dicts costs 11 s to walk, and a run's tasks, warnings and decisions hold no
    futures. (Prefect's ``quote``, typed as the value the task receives.)"""
    return cast(T, quote(value))
