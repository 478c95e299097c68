"""Numbers as reports write them: "12.96T", "31.48%", "$0.28", "370x", "+4.59 pp".

``parse_quantity`` reads such a string (or a plain number) into its value and remembers
how it was written, so a corrected figure can be written back the same way
(``format_like``: "0.14%, not 1.4%").

Suffixes (case-sensitive, after the number, optional space): K = 1e3, M = 1e6, B = 1e9,
T = 1e12, Q = 1e15 (quadrillion); ``%`` divides by 100; ``pp`` (percentage points) keeps
the number as written; ``x`` (a multiple) keeps it; a leading ``$`` marks US dollars.
Thousands separators (``1,234``) and underscores are accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tokenstat.errors import QueryError

SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12, "Q": 1e15}

_QUANTITY = re.compile(
    r"""^\s*
    (?P<sign>[+-]?)\s*
    (?P<usd>\$)?\s*
    (?P<number>(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    \s*(?P<unit>[KMBTQ]|%|pp|x|×)?
    \s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Quantity:
    """A number with the way it was written.

    ``style``: ``plain``, ``percent`` (value is a fraction: "31.48%" -> 0.3148), ``pp``,
    ``multiple`` ("370x"), ``usd``; ``suffix``: K/M/B/T/Q or ""; ``digits``: significant
    digits as written (None for numbers that came from YAML as numbers).
    """

    value: float
    style: str = "plain"
    suffix: str = ""
    digits: int | None = None


def _significant(number: str) -> int:
    mantissa = re.split(r"[eE]", number)[0].replace(",", "").replace("_", "").lstrip("+-")
    digits = mantissa.replace(".", "").lstrip("0")
    return max(len(digits), 1)


def readable(value: float | None) -> str:
    """A number for a sentence: 1.443e13 -> '14.43T', 0.4800 -> '0.48', 390.0 -> '390'."""
    if value is None:
        return "-"
    for suffix, size in reversed(SUFFIXES.items()):
        if abs(value) >= size:
            return f"{_round_sig(value / size, 4)}{suffix}"
    return _round_sig(value, 4)


def parse_quantity(raw: object, *, what: str = "value") -> Quantity:
    """A number, or a string such as "12.96T", "31.48%", "$0.28", "370x", "4.59 pp"."""
    if isinstance(raw, bool) or raw is None:
        raise QueryError(f"{what}: expected a number, got {raw!r}")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise QueryError(f"{what}: not a finite number: {raw!r}")
        # a YAML number: its shortest repr tells how many digits were written
        text = repr(float(raw)) if isinstance(raw, float) else str(raw)
        mantissa = text.split("e")[0].split("E")[0]
        if "." in mantissa and mantissa.endswith(".0"):
            mantissa = mantissa[:-2]
        if "." not in mantissa:
            mantissa = mantissa.rstrip("0") or "0"
        return Quantity(float(raw), digits=_significant(mantissa))
    if not isinstance(raw, str):
        raise QueryError(f"{what}: expected a number, got {raw!r}")
    match = _QUANTITY.match(raw)
    if not match:
        raise QueryError(
            f"{what}: cannot read {raw!r} as a number (examples: 12.96e12, 12.96T, 31.48%, "
            "$0.28, 370x, 4.59 pp)"
        )
    number = match["number"]
    try:
        value = float(number.replace(",", "").replace("_", ""))
    except ValueError:
        raise QueryError(f"{what}: cannot read {raw!r} as a number") from None
    if match["sign"] == "-":
        value = -value
    unit = match["unit"] or ""
    style, suffix = "plain", ""
    if unit in SUFFIXES:
        value *= SUFFIXES[unit]
        suffix = unit
    elif unit == "%":
        value /= 100
        style = "percent"
    elif unit == "pp":
        style = "pp"
    elif unit in ("x", "×"):
        style = "multiple"
    if match["usd"]:
        if style != "plain":
            raise QueryError(f"{what}: {raw!r} mixes $ with {unit}")
        style = "usd"
    if not math.isfinite(value):
        raise QueryError(f"{what}: not a finite number: {raw!r}")
    return Quantity(value, style, suffix, _significant(number))


def parse_amount(raw: object, *, what: str = "value") -> float:
    """Just the value of ``parse_quantity``."""
    return parse_quantity(raw, what=what).value


def _round_sig(value: float, digits: int, strip: bool = True) -> str:
    if value == 0:
        return "0"
    decimals = max(digits - 1 - math.floor(math.log10(abs(value))), 0)
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if strip and "." in text else text


def format_like(value: float, like: Quantity | None = None, *, style: str | None = None) -> str:
    """Write ``value`` the way ``like`` was written (style, suffix, and as many significant
    digits, trailing zeros kept: 12.96e12 like "13.5T" is "13.0T").

    Without ``like``, ``style`` picks the form (``percent``, ``pp``, ``multiple``, ``usd``,
    ``tokens``, ``count``, ``plain``), with four significant digits.
    """
    digits = like.digits if like and like.digits else 4
    chosen = like.style if like and like.style != "plain" else (style or "plain")
    suffix = like.suffix if like else ""
    if chosen == "percent":
        return f"{_round_sig(value * 100, digits, False)}%"
    if chosen == "pp":
        return f"{_round_sig(value, digits, False)} pp"
    if chosen == "multiple":
        return f"{_round_sig(value, digits, False)}x"
    if chosen == "usd":
        return f"${_round_sig(value, digits, False)}"
    if chosen == "count":
        return f"{round(value):d}"
    if suffix or chosen == "tokens":
        if not suffix:
            suffix = next((s for s, size in reversed(SUFFIXES.items()) if abs(value) >= size), "")
        size = SUFFIXES.get(suffix, 1.0)
        return f"{_round_sig(value / size, digits, False)}{suffix}"
    if abs(value) >= 1e6 or (0 < abs(value) < 1e-4):
        return f"{value:.{digits - 1}e}".replace(".000e", "e")
    return _round_sig(value, digits, False)
