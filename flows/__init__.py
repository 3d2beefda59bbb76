"""Prefect flows: ingest → validate → dedupe → enrich → load, and the parent pipeline flow."""
