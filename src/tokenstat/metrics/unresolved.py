"""Which models in a ledger have no known origin, and how many tokens they carry."""

from __future__ import annotations

from typing import Any

from tokenstat.catalog import Catalog
from tokenstat.ledger import Ledger


def unresolved_models(ledger: Ledger, catalog: Catalog) -> list[dict[str, Any]]:
    """Rows {model, author, tokens, share, raw_examples} for models whose origin is unknown."""
    overrides = ledger.model_overrides()
    rows = ledger.db.execute(
        """SELECT model, sum(input_tokens + output_tokens)::BIGINT AS tokens
           FROM usage_daily GROUP BY model"""
    ).fetchall()
    total = sum(t for _, t in rows) or 1
    out = []
    for model, tokens in sorted(rows, key=lambda r: (-r[1], r[0])):
        a = catalog.attribute(catalog.resolve(model), overrides.get(model))
        if a.attributed:
            continue
        raws = [
            r[0]
            for r in ledger.db.execute(
                "SELECT DISTINCT model_raw FROM usage WHERE model = ? LIMIT 3", [model]
            ).fetchall()
        ]
        out.append(
            {
                "model": model,
                "author": a.author,
                "tokens": tokens,
                "share": tokens / total,
                "raw": ", ".join(raws),
            }
        )
    return out
