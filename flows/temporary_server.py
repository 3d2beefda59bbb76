"""Prefect's temporary server, started while the run is still loading.

A one-off `mdm run` with no Prefect server configured (no PREFECT_API_URL) gets a temporary one
from Prefect: a uvicorn subprocess that Prefect starts when the flow first needs its API, and
waits for. That is seconds of importing and migrating in a process of its own, paid after this
process has already spent seconds importing pandas, Great Expectations and the flows. Started
first, in the background, the two overlap on a second core; the flow then finds the server
running (Prefect keeps one per process, `SubprocessASGIServer`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


def start_temporary_server() -> Callable[[], None]:
    """Start the server Prefect would start for this process's first flow, in the background,
    when it will need one; returns what waits until it answers (at once when none is needed).

    Call the returned function before the first flow: until the server answers, Prefect would
    take it for running and talk to it too early."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return lambda: None  # a configured server, or none allowed: Prefect's own behaviour

    def start() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        # A server that fails to start is marked not running again: the flow's own start then
        # tries once more and reports the failure as it always has.
        with contextlib.suppress(Exception):
            SubprocessASGIServer().start()

    thread = threading.Thread(target=start, name="prefect-temporary-server", daemon=True)
    thread.start()
    return thread.join
