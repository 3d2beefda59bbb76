"""Great Expectations suites: the single source of validation rules (SPEC §3).

`suites.py` defines what is checked, `verdicts.py` turns those same expectations into cheap
per-row verdicts, and `report.py` runs them through GX for counts and Data Docs.
"""
