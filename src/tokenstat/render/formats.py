"""Machine formats: JSON (the contract) and CSV (the report's main rows)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, default=_default, indent=2, ensure_ascii=False)


def to_csv(rows: list[dict[str, Any]]) -> str:
    """CSV of a list of flat dicts (nested values are written as JSON)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                k: json.dumps(v, default=_default) if isinstance(v, dict | list) else v
                for k, v in row.items()
            }
        )
    return out.getvalue()


# Which list in each report is "the rows" for CSV output.
CSV_ROWS = {"summary": "groups", "top": "rows", "trend": "rows", "lead": "periods"}
CSV_ROWS |= {"forecast": "points", "verify": "claims"}
