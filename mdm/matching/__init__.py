"""Matching: which standardized source records are the same person (SPEC §4).

Stages, one module each: ``features`` (keys as integer codes), ``blocking`` (candidate pairs),
``compare`` (comparison levels), ``train`` (m, u and λ by EM), ``model`` (Fellegi-Sunter
weights), ``cluster`` (constrained connected components) and ``survive`` (golden records,
conflicts). ``match_records`` runs all but the last; survivorship is called on its clusters.
``match_delta`` is the incremental run's variant: only new and changed records are blocked and
scored, against everything, with the parameters an earlier run fitted.

Beside the stages: ``config`` (matching.yaml), ``labels`` (steward decisions as training
labels), ``relations`` (related customers: households, shared phones and addresses),
``profile`` (the run's matching in counts, for the run report), ``latin`` (Latin name parts).
"""

from mdm.matching.engine import (
    DECISIONS,
    MatchResult,
    MatchSettings,
    fits,
    match_delta,
    match_records,
)

__all__ = ["DECISIONS", "MatchResult", "MatchSettings", "fits", "match_delta", "match_records"]
