"""`tokenstat verify`: each metric kind recomputed, tolerances, verdicts and corrections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.claims import Sources, verify
from tokenstat.cli.demo import sample_path
from tokenstat.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "claims-sample.yaml"
WEEK = {"period": {"grain": "week", "at": "2026-04-05"}}


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "sample.duckdb"
    with api.open_ledger(path) as ledger:
        api.import_path(ledger, "market", [sample_path()], catalog=load_catalog(None))
    return path


@pytest.fixture(scope="module")
def sources(sample_db):
    catalog = load_catalog(None)
    ledger = Ledger.open(sample_db, read_only=True)
    yield Sources(
        ds=api.dataset(ledger, catalog),
        catalog=catalog,
        book=lambda: api.price_book(ledger, catalog),
        cost=lambda: api.cost_inputs(ledger, catalog),
    )
    ledger.close()


def check(sources, *claims, defaults=None, prices=None) -> list[dict]:
    doc = {"defaults": defaults or WEEK, "claims": list(claims)}
    if prices:
        doc["prices"] = prices
    return verify(doc, sources)["claims"]


def one(sources, claim, **kwargs) -> dict:
    return check(sources, {"id": "c", **claim}, **kwargs)[0]


# each metric kind: a true statement holds, a false one is caught with its correction
CASES = [
    ({"metric": "tokens", "by": "origin", "key": "CN"}, "12.96T", "13.5T", "12.96T, not 13.5T"),
    ({"metric": "growth", "by": "origin", "key": "CN"}, "31.48%", "3.148%", "31.48%, not 3.148%"),
    ({"metric": "share", "by": "origin", "key": "CN"}, "48%", "58%", "48%, not 58%"),
    ({"metric": "share_shift_pp", "by": "origin", "key": "CN"}, "4.59 pp", "-4.59 pp", None),
    ({"metric": "leader_streak", "by": "origin", "key": "CN"}, 5, 4, "5, not 4"),
    ({"metric": "lead_streak", "by": "origin", "key": "CN", "over": "US"}, 5, 6, "5, not 6"),
    ({"metric": "rank", "by": "origin", "key": "FR"}, 3, 2, "3, not 2"),
    ({"metric": "price", "model": "openai/gpt-4", "kind": "output"}, "$60", "$6", "$60, not $6"),
    (
        {"metric": "price_ratio", "model": "openai/gpt-4o-mini", "baseline": "openai/gpt-4"},
        "0.5%",
        "5%",
        "0.5%, not 5%",
    ),
    (
        {"metric": "saving", "model": "openai/gpt-4o-mini", "baseline": "openai/gpt-4"},
        "99.5%",
        "95%",
        "99.5%, not 95%",
    ),
    ({"metric": "cost", "by": "model", "key": "openai/gpt-4o-mini"}, "$8627", "$86270", None),
    (
        {"metric": "multiple", "by": "origin", "key": "CN", "from": "2025-04-06"},
        "16x",
        "26x",
        "16.03x, not 26x",
    ),
    (
        {"metric": "cagr", "by": "origin", "key": "CN", "from": "2025-04-06"},
        "1518%",
        "151.8%",
        None,
    ),
    ({"metric": "cagr", "start": 10, "end": 3900, "years": 6}, "170.3%", "17%", None),
    ({"metric": "multiple", "start": 10, "end": 3900}, "390x", "370x", "390x, not 370x"),
]


@pytest.mark.parametrize(("claim", "right", "wrong", "correction"), CASES)
def test_each_metric_kind_holds_or_is_caught(sources, claim, right, wrong, correction):
    if "from" in claim:
        claim = claim | {"to": "2026-04-05"}
    good = one(sources, claim | {"value": right})
    assert good["verdict"] == "holds", good
    bad = one(sources, claim | {"value": wrong})
    assert bad["verdict"] == "wrong", bad
    assert bad["correction"]
    if correction:
        assert bad["correction"] == correction


def test_a_wrong_consistency_check_is_caught(sources):
    [parts, ratio] = check(
        sources,
        {"id": "total", "value": "12.96T", "metric": "tokens", "by": "origin", "key": "CN"},
        {
            "id": "parts",
            "expr": "sum([4.82T, 3.91T, 2.84T, 1.04T, 0.95T, 0.87T]) <= claim('total')",
        },
        {"id": "ratio", "expr": "3900 / 10", "value": "370x"},
    )[1:]
    assert parts["verdict"] == "wrong" and parts["computed"] is False
    assert parts["detail"] == "14.43T <= 12.96T"
    assert ratio["verdict"] == "wrong" and ratio["correction"] == "390x, not 370x"


def test_prices_taken_as_stated(sources):
    prices = {"deepseek/deepseek-v3.2": {"input": 0.28}, "openai/gpt-4": {"input": "$30"}}
    claim = {"metric": "price_ratio", "prices": "stated", "model": "deepseek/deepseek-v3.2"}
    claim |= {"baseline": "openai/gpt-4", "kind": "input"}
    assert one(sources, claim | {"value": "0.93%"}, prices=prices)["verdict"] == "holds"
    wrong = one(sources, claim | {"value": 0.014}, prices=prices)
    assert wrong["verdict"] == "wrong" and wrong["correction"] == "0.933%, not 1.4%"
    given = {"metric": "saving", "prices": [0.28, 30], "model": "a", "baseline": "b"}
    assert one(sources, given | {"value": "99.07%"})["verdict"] == "holds"


@pytest.mark.parametrize(
    ("tolerance", "value", "verdict"),
    [
        ({"relative": 0.01}, "12.9T", "holds"),  # 0.46% off
        ({"relative": 0.001}, "12.9T", "wrong"),
        ({"absolute": 1e11}, "12.9T", "holds"),  # 60B off
        ({"absolute": 1e10}, "12.9T", "wrong"),
        ({"absolute": 1e10, "relative": 0.01}, "12.9T", "holds"),  # either suffices
        ({"relative": "1%"}, "13.2T", "wrong"),  # 1.85% off
    ],
)
def test_tolerance_modes(sources, tolerance, value, verdict):
    claim = {"metric": "tokens", "by": "origin", "key": "CN", "value": value}
    assert one(sources, claim | {"tolerance": tolerance})["verdict"] == verdict


def test_default_tolerance_and_exact_counts(sources):
    claim = {"metric": "tokens", "by": "origin", "key": "CN", "value": "13.2T"}
    loose = WEEK | {"tolerance": {"relative": 0.05}}
    assert one(sources, claim, defaults=loose)["verdict"] == "holds"
    # counts compare exactly, whatever the default tolerance
    streak = {"metric": "lead_streak", "by": "origin", "key": "CN", "over": "US", "value": 5.01}
    assert one(sources, streak, defaults=loose)["verdict"] == "wrong"


def test_wrong_claim_reports_difference_and_slip(sources):
    row = one(sources, {"metric": "tokens", "by": "origin", "key": "CN", "value": "129.6T"})
    assert row["difference"] == pytest.approx(129.6e12 - 12.96e12)
    assert row["relative_difference"] == pytest.approx(9.0)
    assert row["hint"] == "stated is 10x the recomputed value"


@pytest.mark.parametrize(
    ("claim", "reason"),
    [
        ({"metric": "tokens", "by": "origin", "key": "XX"}, "unknown origin 'XX'"),
        ({"metric": "tokens", "by": "model", "key": "deepseek"}, "ambiguous selector"),
        ({"metric": "tokens", "by": "origin", "key": "CN", "at": "2020-01-01"}, "no data"),
        ({"metric": "price", "model": "nobody/nothing"}, "unknown model 'nobody/nothing'"),
        ({"metric": "rank", "by": "origin", "key": "unknown"}, "holds no rank"),
        ({"metric": "tokens", "by": "origin", "key": "CN", "vaule": 1}, "unknown field 'vaule'"),
        ({"metric": "speed"}, "unknown metric 'speed'"),
        ({"expr": "__import__('os')"}, "unknown function '__import__'"),
        ({"expr": "claim('c') + 1 > 2"}, "refers back to itself"),
        ({"expr": "claim('nope')", "value": 1}, "no claim with that id"),
        ({"metric": "tokens", "by": "origin", "key": "CN"}, "needs the stated 'value'"),
        ({"metric": "cagr", "start": 1, "end": 2}, "needs 'years'"),
    ],
)
def test_cannot_check_says_why(sources, claim, reason):
    claim.setdefault("value", 1) if "expr" not in claim and "value" not in str(reason) else None
    row = one(sources, claim)
    assert row["verdict"] == "cannot check"
    assert reason in row["reason"]


def test_model_keys_resolve_through_the_catalog(sources):
    row = one(sources, {"metric": "tokens", "by": "model", "key": "kimi-k2.5", "value": "1.068T"})
    assert row["verdict"] == "holds"


def test_shipped_example_holds_entirely(invoke, sample_db):
    result = invoke("--db", str(sample_db), "verify", str(EXAMPLE), "--json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["summary"]["all_hold"], [c for c in report["claims"] if c["verdict"] != "holds"]
    kinds = {c["metric"] for c in report["claims"] if c["metric"]}
    assert kinds == {
        "tokens", "growth", "share", "share_shift_pp", "leader_streak", "lead_streak", "rank",
        "price", "price_ratio", "saving", "cost", "multiple", "cagr",
    }  # fmt: skip
    first = report["claims"][0]
    assert {"id", "text", "stated", "computed", "verdict", "difference"} <= set(first)


def test_cli_exit_status_and_table(invoke, sample_db, tmp_path):
    claims = {
        "defaults": WEEK,
        "claims": [
            {"id": "ok", "metric": "tokens", "by": "origin", "key": "CN", "value": "12.96T"},
            {"id": "bad", "metric": "growth", "by": "origin", "key": "CN", "value": "3.148%"},
            {"id": "odd", "metric": "tokens", "by": "origin", "key": "XX", "value": 1},
        ],
    }
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(claims))
    result = invoke("--db", str(sample_db), "verify", str(path))
    assert result.exit_code == 1
    assert "31.48%, not 3.148%" in result.stdout
    assert "3 claims: 1 hold, 1 wrong, 1 cannot be checked." in result.stdout
    claims["claims"] = [claims["claims"][0], claims["claims"][2]]
    path.write_text(yaml.safe_dump(claims))
    assert invoke("--db", str(sample_db), "verify", str(path)).exit_code == 0
    assert invoke("--db", str(sample_db), "verify", str(path), "--strict").exit_code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("claims: [", "not valid YAML"),
        ("just: text", "expected a mapping with a 'claims' list"),
        ("claims:\n  - {id: a, expr: '1'}\n  - {id: a, expr: '2'}", "duplicate claim id 'a'"),
        ("claims:\n  - {expr: '1'}", "claim 1 has no 'id'"),
    ],
)
def test_bad_claims_files_are_one_line_errors(invoke, tmp_path, text, message):
    path = tmp_path / "claims.yaml"
    path.write_text(text)
    result = invoke("verify", str(path))
    assert result.exit_code == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_expression_claims_need_no_ledger(invoke, tmp_path):
    path = tmp_path / "claims.yaml"
    path.write_text("claims:\n  - {id: m, expr: '3900 / 10', value: 390x}\n")
    result = invoke("verify", str(path), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["claims"][0]["verdict"] == "holds"
