"""Every route of the dashboard, every query parameter, hostile values: never a 5xx.

The routes come from the application itself (``app.routes``), so a new route is covered
without a change here; the parameters are the API's whole vocabulary (`params.KNOWN`),
and every route takes them all. Over a market-only ledger and over one with own usage:

- each parameter's table of values the API must refuse goes alone to every route: 400
  with a one-line reason (pages: no 5xx);
- a few odd values it must accept (text that names nothing, days outside the data,
  full-width digits) go to every route, and so do two whole queries of valid values (the
  defaults, and one with a row dimension and a cache token kind: classes that answered
  500 before);
- every choice of ``by``, ``period`` and ``tokens`` goes to the summary, and every row
  dimension to the cost and what-if panels;
- a small fixed-seed Hypothesis run sends random combinations.

One application per ledger serves the whole file: answers are cached by parameters, so a
query repeated on another route costs nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tokenstat import api
from tokenstat.catalog import load_catalog
from tokenstat.cli.demo import sample_path
from tokenstat.metrics.facts import DIMENSIONS
from tokenstat.periods import GRAINS
from tokenstat.render.charts import CHART_KINDS
from tokenstat.schema import ROW_DIMENSIONS, TOKEN_KINDS
from tokenstat.web.params import KNOWN, MAX_TEXT

# refused by every parameter: control characters, and text longer than any name
REFUSED_TEXT = ["a\x00b", "line\nbreak", "x" * (MAX_TEXT + 1)]
REFUSED_CHOICE = [*REFUSED_TEXT, "MODEL", "é中文🙂", "'; DROP TABLE usage; --"]
REFUSED_NUMBER = [*REFUSED_TEXT, "-1", "9" * 40, "1e309", "NaN"]
REFUSED_DAY = [*REFUSED_TEXT, "2026-02-30", "10000-01-01", "yesterday"]
REFUSED = {
    "by": REFUSED_CHOICE,
    "period": REFUSED_CHOICE,
    "tokens": REFUSED_CHOICE,
    "limit": REFUSED_NUMBER,
    "last": REFUSED_NUMBER,
    "at": REFUSED_DAY,
    "since": REFUSED_DAY,
    "source": REFUSED_TEXT,
    "a": REFUSED_TEXT,
    "b": REFUSED_TEXT,
    "baseline": REFUSED_TEXT,
}
# accepted, and odd: text naming nothing in the ledger, days outside the data, full-width
# digits (Python's int() reads them) and blanks around the defaults (one cached answer);
# the text of ``a``, ``b`` and ``baseline`` goes in one query (one computation)
PAIR_QUERY = [
    ("a", "\u202e\ufeff<script>"),
    ("b", "../../etc/passwd"),
    ("baseline", "no/such-model"),
    ("by", " origin "),
    ("tokens", "total "),
]
# the routes whose answer reads a, b or baseline
PAIR_ROUTES = ("/api/lead", "/api/report", "/report", "/api/prices", "/api/whatif", "/api/chart/")
ODD_QUERIES = [
    [("period", " week"), ("limit", "１０"), ("last", "１２")],
    [("at", "9999-12-31")],
    [("at", "0001-01-01")],
    [("source", "é中文🙂")],
    PAIR_QUERY,
]
WHOLE_QUERIES = [
    [],
    [
        ("by", "app"),
        ("tokens", "cache_read"),
        ("period", "month"),
        ("limit", "1"),
        ("last", "520"),
        ("a", "support-bot"),
        ("b", "coder"),
        ("since", "2026-01-05"),
        ("baseline", "openai/gpt-4o"),
        ("source", "csv"),
    ],
]
PRICED = ("/api/cost", "/api/whatif", "/api/chart/whatif")


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TestClient]:
    """One application on a market-only ledger and one on a ledger with own usage."""
    from tests.visual_data import build_sample_ledger

    from tokenstat.web.app import create_app

    base = tmp_path_factory.mktemp("fuzz")
    market = base / "market.duckdb"
    with api.open_ledger(market) as ledger:
        api.import_path(ledger, "market", [sample_path()], catalog=load_catalog())
    ledgers = {"market": market, "own": build_sample_ledger(base)}
    return {name: TestClient(create_app(db)) for name, db in ledgers.items()}


def route_paths(app: FastAPI) -> list[str]:
    """Every GET path of ``app``, with the chart kind filled by each kind and by text no
    chart has."""
    paths = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if "{kind}" in route.path:
            paths += [route.path.replace("{kind}", k) for k in (*CHART_KINDS, "nope", "%00")]
        else:
            assert "{" not in route.path, f"a path parameter this test does not fill: {route}"
            paths.append(route.path)
    return paths


def check(client: TestClient, path: str, query: list[tuple[str, str]]) -> int:
    """The status of GET ``path`` with ``query``, after checking it is not 5xx and that an
    API error is one line of text."""
    answer = client.get(path, params=query)
    assert answer.status_code < 500, (path, query, answer.status_code, answer.text[:300])
    if answer.status_code >= 400 and path.startswith("/api/"):
        error = answer.json()["error"]
        assert isinstance(error, str) and error and "\n" not in error, (path, query, error)
        assert "Traceback" not in error
    return answer.status_code


@pytest.fixture(params=["market", "own"])
def client(request: pytest.FixtureRequest, clients: dict[str, TestClient]) -> TestClient:
    return clients[request.param]


def test_every_route_and_parameter_is_covered(client: TestClient):
    paths = route_paths(client.app)
    for expected in ("/api/summary", "/api/report", "/api/cost", "/api/chart/whatif", "/"):
        assert expected in paths
    assert len(paths) >= 20
    assert set(REFUSED) == set(KNOWN)


@pytest.mark.parametrize("name", KNOWN)
def test_refused_values_answer_400_on_every_route(client: TestClient, name: str):
    for path in route_paths(client.app):
        for value in REFUSED[name]:
            status = check(client, path, [(name, value)])
            if path in ("/favicon.ico",) or path.startswith("/static"):
                continue
            assert status == 400, (path, name, value, status)


def test_odd_accepted_values_on_every_route(client: TestClient):
    for path in route_paths(client.app):
        for query in ODD_QUERIES:
            if query is PAIR_QUERY and not path.startswith(PAIR_ROUTES):
                continue  # answers that do not read the pair would only be recomputed
            check(client, path, query)


@pytest.mark.parametrize("query", WHOLE_QUERIES, ids=["defaults", "row-dimension"])
def test_whole_queries_on_every_route(client: TestClient, query: list[tuple[str, str]]):
    statuses = {path: check(client, path, query) for path in route_paths(client.app)}
    assert statuses["/api/summary"] == 200 or query  # the defaults always have an answer
    assert statuses["/"] == 200


def test_every_choice_on_the_reports(client: TestClient):
    for value in DIMENSIONS:
        check(client, "/api/summary", [("by", value)])
    for name, choices in (("period", GRAINS), ("tokens", TOKEN_KINDS)):
        for value in choices:
            check(client, "/api/summary", [(name, value)])
    for path in PRICED:
        for by in ROW_DIMENSIONS:
            check(client, path, [("by", by)])


def test_unknown_and_repeated_parameters(client: TestClient):
    for path in route_paths(client.app):
        if path.startswith("/static") or path == "/favicon.ico":
            continue
        for query in ([("nope", "1")], [("by", "model"), ("by", "model")], [("\x00", "x")]):
            assert check(client, path, query) == 400, (path, query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("source", "a\x00b")], "source"),
        ([("by", "a\x00b")], "by"),
        ([("at", "10000-01-01")], "at"),
        ([("limit", "0")], "limit"),
    ],
)
def test_bad_values_name_the_parameter(clients: dict[str, TestClient], query, message):
    answer = clients["market"].get("/api/summary", params=query)
    assert answer.status_code == 400
    assert re.search(rf"\b{message}\b", answer.json()["error"])


def test_cache_token_kinds_in_the_report(clients: dict[str, TestClient], invoke, tmp_path: Path):
    """The report of cache read tokens, on the web and from the CLI: the own-usage sample
    imports no cache counts (market totals, a CSV of input and output), so 0 tokens."""
    answer = clients["own"].get("/api/report", params={"tokens": "cache_read"})
    assert answer.status_code == 200, answer.text[:300]
    report = answer.json()
    assert report["measure"] == "cache_read"
    assert report["summary"]["total"]["tokens"] == 0
    out = tmp_path / "report.json"
    db = clients["own"].app.state.service.path
    result = invoke("--db", str(db), "report", "--tokens", "cache_read", "-o", str(out))
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text("utf-8"))
    assert written["measure"] == "cache_read"
    assert written["summary"]["total"] == report["summary"]["total"]
    wrong = invoke("--db", str(db), "report", "--tokens", "cache", "-o", str(out))
    assert wrong.exit_code != 0
    assert "unknown token kind 'cache'" in wrong.output and "Traceback" not in wrong.output


_VALUES = st.one_of(
    st.sampled_from(
        [v for vs in REFUSED.values() for v in vs] + [v for q in ODD_QUERIES for _, v in q]
    ),
    st.text(max_size=12),
)


@seed(20261128)
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    ledger=st.sampled_from(["market", "own"]),
    path_index=st.integers(min_value=0, max_value=1000),
    query=st.lists(
        st.tuples(st.sampled_from(KNOWN), _VALUES), max_size=3, unique_by=lambda kv: kv[0]
    ),
)
def test_random_combinations(clients: dict[str, TestClient], ledger: str, path_index: int, query):
    client = clients[ledger]
    paths = route_paths(client.app)
    check(client, paths[path_index % len(paths)], query)
