"""The browser the browser tests drive: the system's Chromium, headless, downloading nothing."""

from __future__ import annotations

import os
import shutil

# The one scripts/preflight.py checks (`make test` installs it when it can).
CHROMIUM = os.environ.get("MDM_CHROMIUM") or (
    "/usr/bin/chromium" if os.path.isfile("/usr/bin/chromium") else shutil.which("chromium") or ""
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
