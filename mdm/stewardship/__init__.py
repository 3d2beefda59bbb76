"""Stewardship (SPEC §5): the task queue, steward actions with their audit, and explanations."""
