"""Benchmarks: `make bench` (python -m bench). Numbers, not adjectives."""
