"""Importers: one module per format, all behind the registry (`tokenstat.sources.registry`).

Third parties add importers as entry points of `ENTRY_POINT_GROUP` (docs/importers.md).
"""

ENTRY_POINT_GROUP = "tokenstat.sources"
