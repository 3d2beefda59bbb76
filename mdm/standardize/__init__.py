"""Standardization of raw channel values into the standard customer record (SPEC §2).

One module per concern; ``standardize_frame`` applies them all to a mapped frame.
"""

from mdm.standardize.frame import map_unique, standardize_frame

__all__ = ["map_unique", "standardize_frame"]
