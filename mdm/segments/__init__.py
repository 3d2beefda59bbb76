"""Segments of SPEC §6: rules from segments.yaml (config), their inputs (profile), the
vectorized rules (rules), and the compliance tasks and manager alerts they raise (compliance)."""
