"""The warehouse URL of a run: from the environment or a Prefect Secret block, never a flow
parameter (Prefect stores parameters with every run)."""

from __future__ import annotations

import os
from typing import Any

from mdm.errors import MdmError
from mdm.settings import ProcessSettings

SECRET_BLOCK_ENV = "MDM_WAREHOUSE_SECRET_BLOCK"  # noqa: S105 (the name of a variable)


def warehouse_url(process: ProcessSettings) -> str:
    """MDM_WAREHOUSE_URL if set; else the Secret block named by MDM_WAREHOUSE_SECRET_BLOCK;
    else the process default (an SQLite file)."""
    block = os.environ.get(SECRET_BLOCK_ENV)
    if os.environ.get("MDM_WAREHOUSE_URL") or not block:
        return process.warehouse_url
    from prefect.blocks.system import Secret

    try:
        secret: Any = Secret.load(block)  # sync here: no event loop of ours runs
        value = secret.get()
    except ValueError as exc:  # Prefect: no block of that name
        raise MdmError(f"{SECRET_BLOCK_ENV}={block}: no such Prefect Secret block") from exc
    if not isinstance(value, str) or not value.strip():
        raise MdmError(f"the Prefect Secret block {block} holds no warehouse URL")
    return ProcessSettings(warehouse_url=value).warehouse_url
