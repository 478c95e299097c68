"""Verification of the figures a report states: `tokenstat verify claims.yaml`.

``load_claims(path)`` reads a claims file; ``verify(doc, sources)`` recomputes each claim
with the reports' own code (`tokenstat.claims.metrics`) or evaluates its expression in a
small safe language (`tokenstat.claims.expr`) and returns the report dict (the ``--json``
contract). See docs/verify.md.
"""

from tokenstat.claims.check import load_claims, verify
from tokenstat.claims.metrics import METRICS, CannotCheck, Sources

__all__ = ["METRICS", "CannotCheck", "Sources", "load_claims", "verify"]
