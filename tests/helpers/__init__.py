"""Shared test helpers: pipeline runs into a warehouse and reading it back (`warehouse_io`), and
labelled standardized records for the matching tests (`matching_data`)."""
