"""Test bed: synthetic channel data with ground truth, and scoring a warehouse by it."""
