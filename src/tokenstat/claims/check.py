"""Verification of a claims file: each stated figure recomputed, compared, and judged.

A claim either names a metric (recomputed by `tokenstat.claims.metrics`) or gives an
expression (`tokenstat.claims.expr`). Verdicts:

- ``holds``: the stated value is within tolerance of the recomputed one (or the
  condition is true);
- ``wrong``: it is not (or the condition is false); ``correction`` gives the nearest
  correct statement, written the way the claim wrote its figure ("0.14%, not 1.4%");
- ``cannot check``: the figure cannot be recomputed; ``reason`` says why.

Tolerance: ``{relative: r}`` holds when |stated - computed| <= r * |computed|;
``{absolute: a}`` when |stated - computed| <= a; both given: either suffices. Counts
(rank, leader_streak, lead_streak) must match exactly unless the claim gives a tolerance.
See docs/verify.md for the file format.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from tokenstat.claims import expr as expr_lang
from tokenstat.claims.metrics import (
    COUNT_METRICS,
    METRICS,
    STYLE,
    CannotCheck,
    Sources,
    compute,
)
from tokenstat.errors import ClaimsFileError, ExpressionError, QueryError
from tokenstat.quantities import Quantity, format_like, parse_quantity, readable

DEFAULT_TOLERANCE = {"relative": 0.01}
HOLDS, WRONG, CANNOT = "holds", "wrong", "cannot check"

# parameters a claim (or the defaults) may set, besides id/text/metric/expr/value/tolerance
PARAMETERS = (
    "period",
    "grain",
    "at",
    "by",
    "key",
    "over",
    "tokens",
    "source",
    "model",
    "baseline",
    "kind",
    "provider",
    "as_of",
    "mix",
    "prices",
    "mode",
    "from",
    "to",
    "start",
    "end",
    "years",
)
CLAIM_FIELDS = ("id", "text", "metric", "expr", "value", "tolerance", "note", *PARAMETERS)


def load_claims(path: Path) -> dict[str, Any]:
    """Read a claims file (YAML) and check its shape (not its figures)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClaimsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ClaimsFileError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    return check_shape(doc, str(path))


def check_shape(doc: Any, name: str = "claims") -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("claims"), list):
        raise ClaimsFileError(f"{name}: expected a mapping with a 'claims' list")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ClaimsFileError(f"{name}: 'defaults' must be a mapping")
    unknown = [k for k in defaults if k not in (*PARAMETERS, "tolerance")]
    if unknown:
        raise ClaimsFileError(f"{name}: defaults: unknown field {unknown[0]!r}")
    prices = doc.get("prices") or {}
    if not isinstance(prices, dict):
        raise ClaimsFileError(f"{name}: 'prices' must map a model to its prices")
    seen: set[str] = set()
    for i, claim in enumerate(doc["claims"], start=1):
        if not isinstance(claim, dict):
            raise ClaimsFileError(f"{name}: claim {i} is not a mapping")
        cid = claim.get("id")
        if cid is None or str(cid).strip() == "":
            raise ClaimsFileError(f"{name}: claim {i} has no 'id'")
        if str(cid) in seen:
            raise ClaimsFileError(f"{name}: duplicate claim id {cid!r}")
        seen.add(str(cid))
    return doc


def _tolerance(spec: Any) -> dict[str, float]:
    if not isinstance(spec, dict) or not spec or set(spec) - {"relative", "absolute"}:
        raise CannotCheck("tolerance must be {relative: 0.01} and/or {absolute: 0.0005}")
    out = {}
    for key, value in spec.items():
        amount = parse_quantity(value, what=f"tolerance.{key}").value
        if amount < 0:
            raise CannotCheck(f"tolerance.{key} must not be negative")
        out[key] = amount
    return out


def within(stated: float, computed: float, tolerance: dict[str, float]) -> bool:
    diff = abs(stated - computed)
    if "absolute" in tolerance and diff <= tolerance["absolute"]:
        return True
    return "relative" in tolerance and diff <= tolerance["relative"] * abs(computed)


def correction(
    computed: float, stated: Quantity, style: str | None, tolerance: dict[str, float], exact: bool
) -> str:
    """The recomputed value written like the stated one, with the fewest significant digits
    (at least the claim's own) whose rounding stays within a tenth of the tolerance, so the
    corrected statement holds with room to spare: "0.763%, not 1.4%"."""
    tight = {name: amount / 10 for name, amount in tolerance.items()}
    text = format_like(computed, stated, style=style)
    for digits in range(max(stated.digits or 4, 1), 13):
        text = format_like(computed, replace(stated, digits=digits), style=style)
        if exact:
            break
        try:
            back = parse_quantity(text).value
        except QueryError:
            break
        if within(back, computed, tight):
            break
    return text


def slip_hint(stated: float, computed: float) -> str | None:
    """'stated is 10x the recomputed value' when the two differ by a power of ten."""
    if not stated or not computed or (stated > 0) != (computed > 0):
        return None
    exponent = math.log10(abs(stated / computed))
    k = round(exponent)
    if k != 0 and abs(exponent - k) < 0.005:
        word = "the recomputed value" if k > 0 else "of the recomputed value"
        return f"stated is {10 ** abs(k):g}x {word}" if k > 0 else f"stated is 1/{10**-k:g} {word}"
    return None


class Verifier:
    """Checks the claims of one file against ``sources``."""

    def __init__(self, doc: dict[str, Any], sources: Sources):
        self.doc = doc
        self.sources = sources
        self.defaults = dict(doc.get("defaults") or {})
        self.claims = {str(c["id"]): c for c in doc["claims"]}
        self.stated_prices = doc.get("prices") or {}
        self._stated: dict[str, float] = {}
        self._resolving: list[str] = []

    # --- parameters ---
    def params(self, claim: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for layer in (self.defaults, claim):
            period = layer.get("period")
            if period is not None:
                if not isinstance(period, dict) or set(period) - {"grain", "at"}:
                    raise CannotCheck("period must be {grain: week, at: YYYY-MM-DD}")
                merged |= period
            merged |= {k: v for k, v in layer.items() if k in PARAMETERS and k != "period"}
        merged["_stated_prices"] = self.stated_prices
        return merged

    def metric_call(self, claim: dict[str, Any]) -> Callable[[str, dict[str, Any]], float]:
        def call(name: str, kwargs: dict[str, Any]) -> float:
            unknown = [k for k in kwargs if k not in PARAMETERS]
            if unknown:
                raise ExpressionError(f"{name}(): unknown argument {unknown[0]!r}")
            return compute(self.sources, name, self.params(claim) | kwargs)

        return call

    def stated_of(self, cid: str) -> float:
        """claim('id') in an expression: that claim's stated value (its expression's value
        when it states none)."""
        if cid in self._stated:
            return self._stated[cid]
        claim = self.claims.get(cid)
        if claim is None:
            raise ExpressionError(f"claim({cid!r}): no claim with that id")
        if cid in self._resolving:
            raise ExpressionError(f"claim({cid!r}) refers back to itself")
        if len(self._resolving) >= expr_lang.MAX_REFERENCE_CHAIN:
            raise ExpressionError(
                f"claim({cid!r}): chain of claim() references too long (more than "
                f"{expr_lang.MAX_REFERENCE_CHAIN} claims deep, from {self._resolving[0]!r})"
            )
        self._resolving.append(cid)
        try:
            if claim.get("value") is not None:
                value = parse_quantity(claim["value"], what=f"{cid}: value").value
            elif claim.get("expr") is not None:
                result = self.evaluate(claim)
                if isinstance(result.value, bool):
                    raise ExpressionError(f"claim({cid!r}) is a condition, not a number")
                value = result.value
            else:
                raise ExpressionError(f"claim({cid!r}) states no value")
        finally:
            self._resolving.pop()
        self._stated[cid] = value
        return value

    def evaluate(self, claim: dict[str, Any]) -> expr_lang.Result:
        return expr_lang.evaluate(
            str(claim["expr"]),
            metrics=METRICS,
            metric=self.metric_call(claim),
            claim=self.stated_of,
        )

    # --- one claim ---
    def check(self, claim: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(claim["id"]),
            "text": claim.get("text"),
            "metric": claim.get("metric"),
            "expr": claim.get("expr"),
            "stated": None,
            "stated_as": None,
            "computed": None,
            "difference": None,
            "relative_difference": None,
            "tolerance": None,
            "verdict": CANNOT,
            "reason": None,
            "correction": None,
            "hint": None,
            "detail": None,
        }
        try:
            self._check(claim, out)
        except (CannotCheck, ExpressionError, QueryError) as exc:
            out["verdict"] = CANNOT
            out["reason"] = str(exc)
        return out

    def _check(self, claim: dict[str, Any], out: dict[str, Any]) -> None:
        unknown = [k for k in claim if k not in CLAIM_FIELDS]
        if unknown:
            raise CannotCheck(f"unknown field {unknown[0]!r} (typo?)")
        metric, text = claim.get("metric"), claim.get("expr")
        if (metric is None) == (text is None):
            raise CannotCheck("a claim needs exactly one of 'metric' or 'expr'")
        stated: Quantity | None = None
        if claim.get("value") is not None:
            stated = parse_quantity(claim["value"], what="value")
            out["stated"], out["stated_as"] = stated.value, str(claim["value"])
        tolerance_spec = claim.get("tolerance")
        if metric is not None:
            if stated is None:
                raise CannotCheck("a metric claim needs the stated 'value'")
            computed = compute(self.sources, str(metric), self.params(claim))
            style = STYLE.get(str(metric))
            exact = metric in COUNT_METRICS and tolerance_spec is None
        else:
            result = self.evaluate(claim)
            if isinstance(result.value, bool):
                if stated is not None:
                    raise CannotCheck("a condition (with a comparison) takes no 'value'")
                out["computed"] = result.value
                out["verdict"] = HOLDS if result.value else WRONG
                out["detail"] = f"{_plain(result.left)} {result.op} {_plain(result.right)}"
                if not result.value:
                    out["correction"] = f"the condition does not hold: {out['detail']} is false"
                return
            computed = result.value
            if stated is None:
                out["computed"] = computed
                raise CannotCheck("the expression gives a number: state a 'value' to compare")
            style = None
            exact = False
        tolerance = (
            {}
            if exact
            else _tolerance(tolerance_spec or self.defaults.get("tolerance") or DEFAULT_TOLERANCE)
        )
        out["computed"] = computed
        out["tolerance"] = {"exact": True} if exact else tolerance
        out["difference"] = stated.value - computed
        out["relative_difference"] = (stated.value - computed) / computed if computed else None
        ok = stated.value == computed if exact else within(stated.value, computed, tolerance)
        out["verdict"] = HOLDS if ok else WRONG
        if not ok:
            right = correction(computed, stated, style, tolerance, exact)
            wrong = (
                claim["value"].strip()
                if isinstance(claim["value"], str)
                else format_like(stated.value, stated, style=style)
            )
            out["correction"] = f"{right}, not {wrong}" if right != wrong else right
            out["hint"] = slip_hint(stated.value, computed)

    def run(self) -> dict[str, Any]:
        results = [self.check(c) for c in self.doc["claims"]]
        summary = {
            "claims": len(results),
            "holds": sum(r["verdict"] == HOLDS for r in results),
            "wrong": sum(r["verdict"] == WRONG for r in results),
            "cannot_check": sum(r["verdict"] == CANNOT for r in results),
        }
        summary["all_hold"] = summary["holds"] == summary["claims"]
        return {"claims": results, "summary": summary, "defaults": _jsonable(self.defaults)}


def _plain(value: float | None) -> str:
    return readable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def verify(doc: dict[str, Any], sources: Sources) -> dict[str, Any]:
    """Check every claim of ``doc`` (a parsed claims file) against ``sources``."""
    report = Verifier(check_shape(doc), sources).run()
    ds = sources.ds
    report["sources"] = ds.sources if ds is not None else []
    return report
