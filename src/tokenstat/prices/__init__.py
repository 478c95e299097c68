"""Prices: the genai-prices data as a flat schedule table, and cost computed in the engine.

- `tokenstat.prices.schedule`: the schedule's layout, the exact cost formula, the join;
- `tokenstat.prices.book`: genai-prices, OpenRouter snapshots and the user price file as
  layers, and which price a (provider, model) gets (the resolution order);
- `tokenstat.prices.points`, `tokenstat.prices.overrides`: snapshot price points in the
  ledger, and the user price file;
- `tokenstat.prices.cost`, `tokenstat.prices.whatif`, `tokenstat.prices.table`: the cost of
  ledger rows (modes, unpriced rows, mismatches), what-if pricing, the price table.

Import the modules themselves: this package loads nothing (genai-prices takes a while to
load, and only commands that price need it).
"""
