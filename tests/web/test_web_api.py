"""The dashboard's JSON API in process: the CLI's contracts, validation, safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.visual_data import EVIL_APP, EVIL_MODEL

from tokenstat.web.app import create_app


@pytest.fixture(scope="module")
def client(visual_db: Path):
    return TestClient(create_app(visual_db))


@pytest.mark.parametrize(
    ("path", "cli"),
    [
        (
            "/api/summary?by=origin&at=2026-04-05",
            ["summary", "--by", "origin", "--at", "2026-04-05"],
        ),
        ("/api/summary?by=author&period=month", ["summary", "--by", "author", "--period", "month"]),
        ("/api/top?limit=5&tokens=input", ["top", "--limit", "5", "--tokens", "input"]),
        ("/api/trend?by=origin&last=6", ["trend", "--by", "origin", "--last", "6"]),
        ("/api/lead?a=CN&b=US", ["lead", "CN", "US"]),
        ("/api/summary?by=app&source=csv", ["summary", "--by", "app", "--source", "csv"]),
    ],
)
def test_api_answers_what_the_cli_prints(client, invoke, visual_db, path, cli):
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    printed = json.loads(invoke("--db", str(visual_db), *cli, "--json").stdout)
    got = answer.json()
    if "hhi" in printed:  # a float sum may differ in its last bit between runs
        assert got.pop("hhi") == pytest.approx(printed.pop("hhi"))
    assert got == printed


def test_lead_defaults_to_the_two_largest(client):
    lead = client.get("/api/lead").json()
    assert (lead["a"], lead["b"], lead["streak"]) == ("CN", "US", 5)


def test_report_and_sections(client):
    report = client.get("/api/report?baseline=openai/gpt-4").json()
    assert report["summary"]["period"]["start"] == "2026-03-30"
    assert report["prices"]["available"] and report["cost"]["available"]
    prices = client.get("/api/prices?baseline=openai/gpt-4").json()
    assert prices["baseline"] == "openai/gpt-4" and prices["rows"]
    cost = client.get("/api/cost").json()
    assert cost["total"]["rows"] == 5 and cost["slice"]["where"] == {"grain": "request"}
    shift = client.get("/api/shift?since=2026-01-12").json()
    assert shift["from"]["start"] == "2026-01-12" and shift["to"]["start"] == "2026-03-30"


@pytest.mark.parametrize("kind", ["trend", "share", "top", "prices"])
def test_chart_specs(client, kind):
    spec = client.get(f"/api/chart/{kind}?baseline=openai/gpt-4").json()
    assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("/api/summary?by=country", "by='country' is not valid; choose one of: model"),
        ("/api/summary?period=fortnight", "period='fortnight' is not valid"),
        ("/api/summary?at=2026-13-01", "at='2026-13-01' is not a date (YYYY-MM-DD)"),
        ("/api/summary?at=2031-01-01", "no data for the week containing 2031-01-01"),
        ("/api/top?limit=0", "limit must be from 1 to 200, not 0"),
        ("/api/top?limit=ten", "limit='ten' is not a whole number"),
        ("/api/trend?last=9999", "last must be from 1 to 520"),
        ("/api/summary?tokens=all", "tokens='all' is not valid"),
        ("/api/summary?sql=select+1", "unknown parameter 'sql'"),
        ("/api/summary?by=origin&by=model", "'by' given 2 times"),
        ("/api/lead?a=CN", "give both 'a' and 'b'"),
        ("/api/lead?a=CN&b=XX", "no origin named 'XX' in the data"),
        ("/api/chart/pie", "unknown chart 'pie'"),
        ("/api/shift?since=2026-04-05", "must come before"),
        ("/api/prices?baseline=nobody/nothing", "no price for the baseline"),
    ],
)
def test_bad_filters_are_400_with_a_message(client, query, message):
    answer = client.get(query)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert message in body["error"]
    assert "Traceback" not in answer.text


def test_the_ledger_path_is_never_sent(client, visual_db: Path, tmp_path: Path):
    for path in ("/api/meta", "/api/sources", "/api/report", "/", "/api/summary?by=nope"):
        assert str(visual_db) not in client.get(path).text
        assert str(visual_db.parent) not in client.get(path).text
    missing = TestClient(create_app(tmp_path / "nothing-here.duckdb"))
    answer = missing.get("/api/summary")
    assert answer.status_code == 503
    assert "nothing-here" not in answer.text and str(tmp_path) not in answer.text
    page = missing.get("/")
    assert page.status_code == 200 and "nothing-here" not in page.text


def test_unexpected_errors_are_500_without_a_traceback(visual_db: Path, monkeypatch):
    from tokenstat.metrics import reports

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(reports, "summary", broken)
    client = TestClient(create_app(visual_db), raise_server_exceptions=False)
    answer = client.get("/api/summary?by=model")
    assert answer.status_code == 500
    assert "secret internals" not in answer.text and "Traceback" not in answer.text


def test_pages_assets_and_headers(client):
    page = client.get("/")
    assert page.status_code == 200 and 'id="summary-table"' in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    for src in (
        "/static/vendor/vega.min.js",
        "/static/vendor/vega-lite.min.js",
        "/static/vendor/vega-embed.min.js",
        "/static/dashboard.js",
        "/static/dashboard.css",
        "/static/tables.js",
    ):
        assert f'"{src}"' in page.text
        assert client.get(src).status_code == 200, src
    assert "http://" not in page.text and "https://" not in page.text
    report = client.get("/report")
    assert report.status_code == 200 and "Token market report" in report.text
    assert client.get("/docs").status_code == 404  # the API docs would load a CDN


def test_only_loopback_host_names_when_bound_to_loopback(visual_db: Path):
    client = TestClient(create_app(visual_db, allowed_hosts=["127.0.0.1", "localhost"]))
    assert client.get("/api/meta").status_code == 400
    assert client.get("/api/meta", headers={"host": "127.0.0.1:8000"}).status_code == 200


def test_hostile_names_stay_text(hostile_db: Path):
    client = TestClient(create_app(hostile_db))
    report = client.get("/report")
    assert EVIL_MODEL not in report.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in report.text
    apps = client.get("/api/summary?by=app&at=2026-03-31").json()
    assert EVIL_APP in [g["key"] for g in apps["groups"]]  # JSON carries the string as data
    # the chart of the top apps names the hostile app, as data of the spec, never as markup
    chart = client.get("/api/chart/top?by=app&at=2026-03-31")
    assert EVIL_APP in set(_strings(chart.json())) and EVIL_APP not in chart.text


def _strings(value: object):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_a_starting_server_preloads_the_forecast_library(visual_db: Path):
    # in a fresh interpreter: this one may have imported it for other tests
    code = f"""
import sys, time
from fastapi.testclient import TestClient
from tokenstat.web.app import create_app
assert "statsforecast.models" not in sys.modules
with TestClient(create_app({str(visual_db)!r})) as client:
    deadline = time.monotonic() + 120
    while "statsforecast.models" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get("/api/meta").status_code == 200
print("statsforecast.models" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"]


def test_wildcard_bind_keeps_the_host_check(visual_db: Path):
    import socket

    from tokenstat.web.hosts import allowed_hosts

    allowed = allowed_hosts("0.0.0.0", ["dash.example", "*.lan"])
    client = TestClient(create_app(visual_db, allowed_hosts=allowed))
    for evil in ("evil.example", "evil.example:8000", "0.0.0.0", "dash.example.evil.example"):
        assert client.get("/api/meta", headers={"host": evil}).status_code in (400, 403), evil
    for good in (
        "127.0.0.1:8000",
        "localhost",
        f"{socket.gethostname()}:8000",
        "dash.example",
        "box.lan:8000",
    ):
        assert client.get("/api/meta", headers={"host": good}).status_code == 200, good


@pytest.mark.parametrize("bad", ["*", "a*b", "evil.example/x", "", "x y"])
def test_allow_host_refuses_what_is_not_a_host_name(bad: str):
    from tokenstat.errors import QueryError
    from tokenstat.web.hosts import allowed_hosts

    with pytest.raises(QueryError, match="--allow-host"):
        allowed_hosts("0.0.0.0", [bad])


def test_serve_on_0_0_0_0_warns_and_refuses_unknown_hosts(visual_db: Path):
    import http.client
    import socket
    import time

    with socket.socket() as probe:  # a free port, released before the server binds it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", "from tokenstat.cli import app; app()"]
    command += ["--db", str(visual_db), "serve"]
    command += ["--host", "0.0.0.0", "--port", str(port), "--allow-host", "dash.example"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)

    def status(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/api/meta", headers={"Host": host})
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = status("evil.example")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.2)
        assert first == 400
        assert status(f"{socket.gethostname()}:{port}") == 200
        assert status("dash.example") == 200
        assert status(f"127.0.0.1:{port}") == 200
    finally:
        server.terminate()
        stderr = server.communicate(timeout=30)[1]
    assert "warning: listening on every address of this machine" in stderr
    assert "dash.example" in stderr
