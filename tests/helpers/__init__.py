"""Shared test helpers: pipeline runs into a warehouse and reading it back (`warehouse_io`),
labelled standardized records for the matching tests (`matching_data`), steward work
(`stewardship`) and the browser the browser tests drive (`browser`)."""
