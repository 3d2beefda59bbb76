"""A per-user cap on searches by phone or ID number.

A viewer may not see identifiers, but a search that matches a whole number tells them a number
exists; at machine speed that is enumeration. Each search is audited (the field, never the
value); the cap stops the loop. It is kept in the workbench process: with several workers
behind a balancer each holds its own window, so the cap per user is that many times higher.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

IDENTIFIER_SEARCHES_PER_MINUTE = 20
WINDOW_SECONDS = 60.0


class SearchLimit:
    """A sliding window of each user's identifier searches."""

    def __init__(self, per_window: int = IDENTIFIER_SEARCHES_PER_MINUTE) -> None:
        self.per_window = per_window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, user: str, *, now: float | None = None) -> int:
        """0 and the search counted when the user is under the cap, else the seconds until the
        oldest search in the window leaves it (the search is not counted)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            seen = self._seen.setdefault(user, deque())
            while seen and now - seen[0] >= WINDOW_SECONDS:
                seen.popleft()
            if len(seen) >= self.per_window:
                return max(1, math.ceil(WINDOW_SECONDS - (now - seen[0])))
            seen.append(now)
            return 0
