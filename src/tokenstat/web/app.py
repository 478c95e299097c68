"""The dashboard: one page with the report's sections, and a JSON twin for every panel.

``create_app(ledger_path)`` builds the FastAPI application. Pages:

- ``/``: the dashboard (filters, tables that sort, charts that follow the filters);
- ``/report``: the full market report as one HTML page, for the same filters.

Their JSON twins, each returning exactly what the CLI prints with ``--json`` for the same
options (``by``, ``period``, ``at``, ``tokens``, ``source``, ``limit``, ``last``, ``a``,
``b``, ``since``, ``baseline``): ``/api/summary``, ``/api/top``, ``/api/trend``,
``/api/lead``, ``/api/shift``, ``/api/prices``, ``/api/cost``, ``/api/whatif``,
``/api/forecast``, ``/api/report`` (every section at once), ``/api/sources``,
``/api/meta`` (the choices the filters offer) and ``/api/chart/{kind}`` (a chart's
Vega-Lite spec).

Safety: the ledger is opened read-only per request and its path is never sent; there is
no way to run a query of one's own; parameters are validated (400 with a message, never a
traceback); every string from the data reaches the page as text (Jinja autoescape on the
server, ``textContent`` in the browser); the Content-Security-Policy allows scripts,
styles and requests from this server only (charts use Vega's interpreter, no eval).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import date
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import ibis
import jinja2
import pyarrow as pa
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from tokenstat import market_report
from tokenstat.catalog import Catalog, load_catalog
from tokenstat.errors import LedgerError, QueryError
from tokenstat.ledger import Ledger
from tokenstat.market_report import Inputs, SectionUnavailable
from tokenstat.metrics import reports
from tokenstat.metrics.cube import UNRANKED
from tokenstat.metrics.facts import DIMENSIONS, ROW_DIMENSIONS
from tokenstat.metrics.reports import Dataset
from tokenstat.metrics.shift import share_shift
from tokenstat.periods import GRAINS, OutsideCalendar, period_start, shift_period
from tokenstat.render import charts, report_html
from tokenstat.render.formats import _default
from tokenstat.schema import TOKEN_KINDS
from tokenstat.web.hosts import LOOPBACK_HOSTS  # noqa: F401  (re-exported)
from tokenstat.web.params import BadParameter, Params, parse

log = logging.getLogger("tokenstat.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# the stand-alone report inlines its scripts and loads nothing
REPORT_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; frame-ancestors 'none'"
)


class JSON(Response):
    """JSON as the CLI writes it (dates as ISO strings; UTF-8)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, default=_default, ensure_ascii=False).encode("utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


class ReportService:
    """Runs reports on a read-only view of the ledger, with a small cache of answers keyed
    by the ledger file's state, so a new import shows up on the next request."""

    def __init__(self, path: Path, catalog: Catalog, cache_size: int = 256):
        self.path = path
        self.catalog = catalog
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        # one query at a time: DuckDB connections to one file from several threads at
        # once can stall each other, and a local dashboard gains little from parallel scans
        self._query_lock = threading.Lock()
        self._local = threading.local()
        self._rollups: dict[tuple[Any, ...], Any] = {}

    def _state(self) -> tuple[Any, ...]:
        out: list[Any] = []
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            try:
                st = p.stat()
                out += [st.st_mtime_ns, st.st_size]
            except OSError:
                out += [None, None]
        return tuple(out)

    def _inputs(self, ledger: Ledger, grain: str | None, by: str | None) -> Inputs:
        """The ledger's inputs; for a grain coarser than a day, reading rollups summed per
        period (once per ledger state; reports of that grain give the same answers): of
        the daily rollup, and of the rollup by dimension for app, user, project and
        session."""
        inputs = Inputs.of(ledger, self.catalog)
        if grain is None or grain == "day":
            return inputs
        state = self._state()
        daily = self._rollup(state, (grain,), lambda: market_report.rollup(inputs.ds.daily, grain))
        rolled = inputs.rolled(daily)
        if by not in ROW_DIMENSIONS:
            return rolled
        # read through `Dataset.rows` as the ledger's rollup by dimension is; the raw rows
        # stay what cost, what-if and the report's own-usage sections read
        by_dim = self._rollup(
            state,
            (grain, by),
            lambda: _as_dims(market_report.rollup(inputs.ds.rows(by), grain, ("source", by)), by),
        )
        ds = replace(rolled.ds, dims=ibis.memtable(by_dim))
        return Inputs(ds, rolled.ledger, rolled.catalog)

    def _rollup(self, state: tuple[Any, ...], key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._rollups.get((state, key))
        if found is None:
            found = make()
            with self._lock:
                self._rollups = {k: v for k, v in self._rollups.items() if k[0] == state}
                self._rollups[(state, key)] = found
        return found

    def run(
        self,
        name: str,
        key: tuple[Any, ...],
        produce: Callable[[Inputs], Any],
        grain: str | None = None,
        by: str | None = None,
    ) -> Any:
        """The answer of ``produce`` (cached by name, parameters and ledger state). Called
        again from inside ``produce``, it reuses the open ledger and the cache, so a chart
        and its table share one computation of their report."""
        cache_key = (name, key, self._state())
        with self._lock:
            if cache_key in self._cache:
                self._cache.move_to_end(cache_key)
                return self._cache[cache_key]
        inputs = getattr(self._local, "inputs", None)
        if inputs is not None:
            result = _redact(produce(inputs))
        else:
            with self._query_lock:
                with self._lock:
                    if cache_key in self._cache:
                        return self._cache[cache_key]
                if not self.path.exists():
                    raise LedgerError("no ledger yet")
                # while an import writes, wait for it (logged once), then answer
                with Ledger.open(self.path, read_only=True, on_busy=log.warning) as ledger:
                    self._local.inputs = self._inputs(ledger, grain, by)
                    try:
                        result = _redact(produce(self._local.inputs))
                    finally:
                        self._local.inputs = None
        with self._lock:
            self._cache[cache_key] = result
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result


# ---- what each panel computes (the same functions the CLI calls) ----------------------------


def _summary(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    return lambda i: reports.summary(i.ds, by=p.by, grain=p.period, at=p.at, sel=p.sel)


def _top(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    return lambda i: reports.top(i.ds, by=p.by, grain=p.period, at=p.at, limit=p.limit, sel=p.sel)


def _trend(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    return lambda i: reports.trend(i.ds, by=p.by, grain=p.period, last=p.last, at=p.at, sel=p.sel)


def _pair(ds: Dataset, p: Params) -> tuple[str, str] | None:
    if p.a and p.b:
        return p.a, p.b
    if p.a or p.b:
        raise BadParameter("give both 'a' and 'b' (the two groups to compare), or neither")
    trend = reports.trend(ds, by=p.by, grain=p.period, last=1, at=p.at, sel=p.sel)
    return charts.default_pair(trend)


def _lead(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    def produce(i: Inputs) -> dict[str, Any]:
        ds = i.ds
        pair = _pair(ds, p)
        if pair is None:
            raise QueryError(f"fewer than two ranked {p.by} groups to compare")
        return reports.lead(ds, *pair, by=p.by, grain=p.period, at=p.at, sel=p.sel)

    return produce


def _first_start(ds: Dataset, grain: str) -> date | None:
    days = [s["first_day"] for s in ds.sources if s.get("first_day")]
    return period_start(date.fromisoformat(min(days)), grain) if days else None


def _shift(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    def produce(i: Inputs) -> dict[str, Any]:
        ds = i.ds
        since = p.since
        if since is None:
            now = reports.summary(ds, by=p.by, grain=p.period, at=p.at, sel=p.sel)
            start = date.fromisoformat(now["period"]["start"])
            try:
                since = shift_period(start, p.period, -(p.last - 1))
            except OutsideCalendar:  # near year 1
                since = date.min
            first = _first_start(ds, p.period)
            if first is not None and since < first:
                since = first
        return share_shift(ds, by=p.by, grain=p.period, at=p.at, since=since, sel=p.sel)

    return produce


def _report(p: Params) -> Callable[[Inputs], dict[str, Any]]:
    def produce(i: Inputs) -> dict[str, Any]:
        pair = (p.a, p.b) if p.a and p.b else None
        return market_report.build(
            i,
            grain=p.period,
            at=p.at,
            since=p.since,
            last=p.last,
            limit=p.limit,
            baseline=p.baseline,
            lead_pair=pair,
            sel=p.sel,
        )

    return produce


def _section(name: str, p: Params, service: ReportService) -> Callable[[Inputs], dict[str, Any]]:
    """An optional section alone, as the report builds it (its owner's report dict). The
    period and the top models come from the summary and top answers (shared cache)."""

    def produce(i: Inputs) -> dict[str, Any]:
        plain = replace(p, baseline=None)
        origin = replace(plain, by="origin")
        summary = service.run("summary", origin.key(), _summary(origin))
        start = date.fromisoformat(summary["period"]["start"])
        if name == "prices":
            model = replace(plain, by="model")
            top = service.run("top", model.key(), _top(model))
            models = [r["key"] for r in top["rows"] if r["key"] not in UNRANKED]
            return market_report.prices_section(
                i, baseline=p.baseline, grain=p.period, at=start, models=models
            )
        if name == "forecast":
            return market_report.forecast_section(i, grain=p.period, at=start, sel=p.sel)
        own = market_report.own_usage_days(i.ds)
        if own[1] is None:
            raise SectionUnavailable("the ledger holds no own usage (request-level rows)")
        if name == "cost":
            return market_report.cost_section(i, grain=p.period, at=start, own=own)
        return market_report.whatif_section(
            i, grain=p.period, at=start, own=own, baseline=p.baseline
        )

    return produce


def _chart(kind: str, p: Params, service: ReportService) -> Callable[[Inputs], dict[str, Any]]:
    """A chart's spec, drawn from its report as the report's own endpoint answers it."""

    def produce(i: Inputs) -> dict[str, Any]:
        if kind in ("trend", "share"):
            trend = service.run("trend", p.key(), _trend(p))
            if kind == "share":
                return charts.to_spec(charts.share_chart(trend))
            lead = None
            if (p.a and p.b) or charts.default_pair(trend):
                try:
                    lead = service.run("lead", p.key(), _lead(p))
                except QueryError:
                    lead = None
            return charts.to_spec(charts.trend_chart(trend, lead))
        if kind == "top":
            return charts.to_spec(charts.top_chart(service.run("top", p.key(), _top(p))))
        section = service.run(kind, p.key(), _section(kind, p, service))
        spec = charts.section_spec(kind, {"available": True, **section})
        if spec is None:
            raise SectionUnavailable(f"the {kind} chart has nothing to draw")
        return spec

    return produce


def _redact(value: Any) -> Any:
    """Drop local file paths (a user price file's) from answers: the server sends report
    figures, never where files live on this machine."""
    if isinstance(value, dict):
        return {
            k: (Path(v).name if k == "user_file" and isinstance(v, str) else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


# ---- the application ------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("tokenstat")
    except metadata.PackageNotFoundError:
        return "dev"


def _preload() -> None:
    try:
        from tokenstat.forecast.methods import preload

        preload()
    except Exception:  # only a head start: a forecast that needs it imports it itself
        logging.getLogger(__name__).debug("preloading the forecast library failed", exc_info=True)


def create_app(
    ledger_path: Path | str,
    *,
    catalog_file: Path | None = None,
    catalog: Catalog | None = None,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The dashboard application on the ledger at ``ledger_path`` (opened read-only per
    request). ``allowed_hosts``: Host headers to accept (None: any); `tokenstat serve`
    always passes `tokenstat.web.hosts.allowed_hosts`, against DNS rebinding."""
    service = ReportService(Path(ledger_path), catalog or load_catalog(catalog_file))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # the forecast library takes seconds to import: do it while the first pages load
        threading.Thread(target=_preload, name="tokenstat-preload", daemon=True).start()
        yield

    app = FastAPI(
        lifespan=lifespan,
        title="tokenstat",
        version=_version(),
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
        openapi_url=None,
    )
    app.state.service = service
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.exception_handler(BadParameter)
    async def bad_parameter(request: Request, exc: BadParameter) -> Response:
        return _error(400, str(exc))

    @app.exception_handler(QueryError)
    async def query_error(request: Request, exc: QueryError) -> Response:
        return _error(400, str(exc))

    @app.exception_handler(SectionUnavailable)
    async def unavailable(request: Request, exc: SectionUnavailable) -> Response:
        # not a server fault: this ledger has nothing for the section (e.g. no own usage)
        return _error(404, f"not available: {exc}")

    @app.exception_handler(LedgerError)
    async def ledger_error(request: Request, exc: LedgerError) -> Response:
        # the message may name the file: keep it in the server log only
        log.warning("ledger unavailable: %s", exc)
        return _error(
            503,
            "the ledger cannot be read right now (no data imported yet, or an import "
            "is running); try again",
        )

    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "query")
        return _error(400, f"invalid parameter {where}: {first.get('msg', 'bad value')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        return _error(exc.status_code, message)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("error answering %s", request.url.path)
        return _error(500, "internal error; the server log has the details")

    def answer(request: Request, name: str, make: Callable[[Params], Any], by: str) -> JSON:
        params = parse(_query(request), by_default=by)
        return JSON(
            service.run(name, params.key(), make(params), grain=params.period, by=params.by)
        )

    @app.get("/api/summary")
    def api_summary(request: Request) -> JSON:
        return answer(request, "summary", _summary, "origin")

    @app.get("/api/top")
    def api_top(request: Request) -> JSON:
        return answer(request, "top", _top, "model")

    @app.get("/api/trend")
    def api_trend(request: Request) -> JSON:
        return answer(request, "trend", _trend, "origin")

    @app.get("/api/lead")
    def api_lead(request: Request) -> JSON:
        return answer(request, "lead", _lead, "origin")

    @app.get("/api/shift")
    def api_shift(request: Request) -> JSON:
        return answer(request, "shift", _shift, "origin")

    @app.get("/api/report")
    def api_report(request: Request) -> JSON:
        return answer(request, "report", _report, "origin")

    def section_endpoint(name: str) -> Callable[[Request], JSON]:
        def endpoint(request: Request) -> JSON:
            return answer(request, name, lambda p: _section(name, p, service), "origin")

        return endpoint

    for section in ("prices", "cost", "whatif", "forecast"):
        app.add_api_route(
            f"/api/{section}", section_endpoint(section), methods=["GET"], name=f"api_{section}"
        )

    @app.get("/api/chart/{kind}")
    def api_chart(request: Request, kind: str) -> JSON:
        if kind not in charts.CHART_KINDS:
            raise BadParameter(
                f"unknown chart {kind!r}; choose one of: {', '.join(charts.CHART_KINDS)}"
            )
        by = "model" if kind == "top" else "origin"
        return answer(request, f"chart-{kind}", lambda p: _chart(kind, p, service), by)

    @app.get("/api/sources")
    def api_sources(request: Request) -> JSON:
        parse(_query(request))
        return JSON(service.run("sources", (), lambda i: {"sources": i.ds.sources}))

    @app.get("/api/meta")
    def api_meta(request: Request) -> JSON:
        parse(_query(request))
        return JSON(service.run("meta", (), _meta))

    @app.get("/", response_class=HTMLResponse)
    def dashboard(request: Request) -> HTMLResponse:
        parse(_query(request))
        try:
            meta = service.run("meta", (), _meta)
        except LedgerError:
            meta = _meta(None)
        html = _pages().get_template("dashboard.html").render(meta=meta, version=_version())
        return HTMLResponse(html)

    @app.get("/report", response_class=HTMLResponse)
    def report_page(request: Request) -> HTMLResponse:
        params = parse(_query(request))
        report = service.run("report", params.key(), _report(params))
        html = report_html.render_html(report)
        return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/static/tables.js")
    def tables_js() -> Response:
        text = resources.files("tokenstat.render").joinpath("templates", "report.js")
        return Response(text.read_text("utf-8"), media_type="text/javascript")

    static = resources.files("tokenstat.web").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    return app


def _as_dims(rolled: pa.Table, by: str) -> pa.Table:
    """Per-period rows by the row dimension ``by`` (a column ``by``) in the shape of the
    ledger's rollup by dimension: columns ``dim`` (= ``by``) and ``key``."""
    keyed = rolled.rename_columns(["key" if name == by else name for name in rolled.column_names])
    return keyed.append_column("dim", pa.array([by] * keyed.num_rows, pa.string()))


def _query(request: Request) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        query.setdefault(name, []).append(value)
    return query


def _meta(i: Inputs | None) -> dict[str, Any]:
    """What the filters can offer: dimensions, periods, token kinds, sources, date range."""
    sources = i.ds.sources if i is not None else []
    firsts = [s["first_day"] for s in sources if s.get("first_day")]
    lasts = [s["last_day"] for s in sources if s.get("last_day")]
    return {
        "dimensions": list(DIMENSIONS),
        "periods": list(GRAINS),
        "token_kinds": list(TOKEN_KINDS),
        "chart_kinds": list(charts.CHART_KINDS),
        "sources": [s["source"] for s in sources],
        "first_day": min(firsts) if firsts else None,
        "last_day": max(lasts) if lasts else None,
        "version": _version(),
    }


_PAGES: jinja2.Environment | None = None


def _pages() -> jinja2.Environment:
    global _PAGES
    if _PAGES is None:
        _PAGES = jinja2.Environment(
            loader=jinja2.PackageLoader("tokenstat.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    return _PAGES
