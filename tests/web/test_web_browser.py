"""The dashboard in a real browser: Debian's Chromium, driven by Playwright, against the
real server (uvicorn on a free loopback port). Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.conftest import REPO
from tests.visual_data import EVIL_APP, EVIL_MODEL

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (make test installs Debian's chromium package)"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser test cannot run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(db: Path) -> Iterator[str]:
    import uvicorn

    from tokenstat.web.app import LOOPBACK_HOSTS, create_app

    port = _free_port()
    app = create_app(db, allowed_hosts=LOOPBACK_HOSTS)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _settled(page, generation: int) -> None:
    """Wait until the dashboard finished the refresh numbered ``generation``."""
    page.wait_for_selector(
        f"body[data-generation='{generation}'][data-busy='0']", state="attached", timeout=60_000
    )


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    page.on(
        "request",
        lambda req: (
            problems.append(f"off-machine request: {req.url}")
            if not req.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
            else None
        ),
    )
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    return problems


def test_dashboard_follows_its_filters(browser, visual_db: Path):
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(visual_db) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems = _watch(page)
        page.goto(url + "/")
        _settled(page, 1)
        summary = page.locator("#summary-table")
        assert summary.locator("thead th").nth(1).inner_text().startswith("origin")
        first = summary.locator("tbody tr").first.inner_text()
        assert "CN" in first and "12.96T" in first and "+31.48%" in first
        trend = page.locator("#chart-trend svg").first
        assert "CN overtakes US in 2026-W10" in trend.text_content()
        assert page.locator("#top-table tbody tr").count() == 10
        page.screenshot(path=str(ARTIFACTS / "dashboard-origin.png"), full_page=True)

        # change a filter: the dimension
        page.select_option("select[name='by']", "author")
        _settled(page, 2)
        assert summary.locator("thead th").nth(1).inner_text().startswith("author")
        first_author = summary.locator("tbody tr").first.inner_text()
        assert first_author != first and "qwen" in first_author
        legend = page.locator("#chart-trend svg").first.text_content()
        assert "author" in legend and "qwen" in legend and "CN overtakes" not in legend
        assert "by=author" in page.url

        # tables sort by a click on a header
        page.locator("#summary-table thead th").nth(4).click()  # growth
        growth = page.locator("#summary-table tbody tr td:nth-child(5)").all_inner_texts()
        values = [float(g.rstrip("%")) for g in growth if g not in ("-", "")]
        assert values == sorted(values, reverse=True)
        page.screenshot(path=str(ARTIFACTS / "dashboard-author.png"), full_page=True)
        assert problems == []
        page.close()


def test_hostile_names_render_as_text(browser, hostile_db: Path):
    with serving(hostile_db) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        problems = _watch(page)
        page.goto(url + "/?at=2026-03-31&by=model")
        _settled(page, 1)
        cells = page.locator("#summary-table tbody td.key").all_inner_texts()
        assert EVIL_MODEL in cells
        assert page.locator("#summary-table script").count() == 0
        page.select_option("select[name='by']", "app")
        _settled(page, 2)
        apps = page.locator("#summary-table tbody td.key").all_inner_texts()
        assert EVIL_APP in apps  # shown as text ...
        assert page.locator("#summary-table img").count() == 0  # ... not as an element
        page.screenshot(path=str(ARTIFACTS / "dashboard-hostile.png"), full_page=True)
        assert [p for p in problems if "dialog" in p] == []
        assert [p for p in problems if "off-machine" in p] == []
        page.close()
