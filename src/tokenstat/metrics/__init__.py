"""Metrics: the cube (period x group totals, computed in the engine) and the report
figures defined on it (growth, share, shifts, ranks, streaks, crossovers, concentration).

Definitions are those of the design brief; every function here takes Ibis tables, so the
same code runs on DuckDB and on Spark.
"""
