"""Bundled sample data: a seeded, clearly synthetic daily per-model market dataset.

See `tokenstat.sample.generate` for how it is made and ``sample/data/README.md`` for
what it contains. None of its numbers are real measurements.
"""
