#!/usr/bin/env python3
"""Before `make test`: bring what the tests need, or stop with one line naming what is missing.

Chromium (the browser tests launch $MDM_CHROMIUM, default /usr/bin/chromium, or `chromium` on
PATH): installed with apt-get when that is possible (root, apt-get on PATH). PostgreSQL (at
$MDM_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test): started
with pg_ctlcluster when it is installed here but not running. Standard library only: this runs
before the virtual environment exists.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOCAL_HOSTS = {"", "127.0.0.1", "localhost", "::1"}


def fail(message: str) -> None:
    print(f"make test: {message}", file=sys.stderr)
    raise SystemExit(1)


def chromium_found() -> bool:
    path = Path(os.environ.get("MDM_CHROMIUM", "/usr/bin/chromium"))
    return path.is_file() or shutil.which("chromium") is not None


def ensure_chromium() -> None:
    if chromium_found():
        return
    apt_get = shutil.which("apt-get")
    if apt_get and os.geteuid() == 0:
        print("make test: installing Chromium (apt-get install -y chromium)", file=sys.stderr)
        for args in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
            subprocess.run([apt_get, *args], check=False, stdout=subprocess.DEVNULL)  # noqa: S603
        if chromium_found():
            return
    fail("Chromium is missing: install it with apt-get install chromium (Debian/Ubuntu)")


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def start_local_postgres() -> bool:
    """Start the cluster installed here (as .ci/run does); False when there is none."""
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not ctl or not versions:
        return False
    print(f"make test: starting PostgreSQL {versions[-1]}", file=sys.stderr)
    subprocess.run(  # noqa: S603
        [ctl, "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        stdout=subprocess.DEVNULL,
    )
    return True


def ensure_postgres() -> None:
    url = os.environ.get("MDM_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    if reachable(host, port):
        return
    if host in LOCAL_HOSTS and start_local_postgres():
        for _ in range(30):
            if reachable(host, port):
                return
            time.sleep(1)
    where = f"{host}:{port}"
    if host in LOCAL_HOSTS and not shutil.which("pg_ctlcluster"):
        fail(
            f"PostgreSQL is missing (nothing at {where}): install it with "
            "apt-get install postgresql (Debian/Ubuntu), or set MDM_TEST_POSTGRES_URL"
        )
    fail(f"PostgreSQL is not reachable at {where}: start it, or set MDM_TEST_POSTGRES_URL")


def main() -> None:
    ensure_chromium()
    ensure_postgres()


if __name__ == "__main__":
    main()
