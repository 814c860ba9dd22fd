"""The dashboard in a real browser (Debian's Chromium through Playwright): every page loads
without a console error, the overview and performance numbers are `stats --json`'s,
navigation works, the kill-switch activation shows in `kill-switch status`, and the static
export opened from file:// shows the same numbers. Screenshots go to test-artifacts/dashboard/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.dashboard_support import TOKEN, open_app, shared_demo, serve

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
PAGES = {"overview": "/", "performance": "/performance", "signals": "/signals", "orders": "/orders",
         "reports": "/reports", "ledger": "/ledger", "annotations": "/annotations"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from tests.conftest import require

    require(CHROMIUM.exists(), f"{CHROMIUM} not found (.ci/run installs Debian's chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def base_url(demo: Path) -> Iterator[str]:
    with open_app(demo) as app, serve(app) as url:
        yield url


class Console:
    """Every console error, warning and uncaught exception of a page."""

    def __init__(self, page: Any) -> None:
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    opened = context.new_page()
    opened.console_log = Console(opened)
    yield opened
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def stats_json(cli: Any, root: Path, *args: str) -> dict[str, Any]:
    result = cli("--home", root, "stats", *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def percent(value: float) -> str:
    return f"{value * 100:+.2f}%"


def test_every_page_loads_without_console_errors(page: Any, base_url: str) -> None:
    for name, path in PAGES.items():
        response = page.goto(base_url + path)
        assert response.status == 200, name
        page.wait_for_load_state("networkidle")
        assert page.locator("#label-banner").get_attribute("data-label") == "SIMULATED", name
        shot(page, name)
    assert page.console_log.problems == []


def test_overview_and_performance_numbers_equal_stats_json(page: Any, base_url: str, cli: Any, demo: Path) -> None:
    from trackrecord.cli.analytics_commands import metric_rows

    stats = stats_json(cli, demo)
    page.goto(base_url + "/")
    metrics = stats["metrics"]
    assert page.locator('.kpi [data-metric="total_return"]').inner_text() == percent(metrics["total_return"])
    assert page.locator('.kpi [data-metric="sharpe"]').inner_text() == f"{metrics['sharpe']:.2f}"
    assert page.locator('.kpi [data-metric="max_drawdown"]').inner_text() == percent(metrics["max_drawdown"])
    assert page.locator('#pnl-table [data-period="inception"] [data-field="pnl"]').inner_text() == \
        f"{metrics['pnl']:,.2f}"
    assert page.locator("canvas").count() >= 2, "the TWR and under-water charts are drawn"
    page.goto(base_url + "/performance")
    for label, key, fmt in metric_rows(stats["frequency"]):
        cell = page.locator(f'#stats-table [data-metric="{key}"]').inner_text()
        expected = "n/a" if metrics.get(key) is None else fmt(metrics[key])
        assert cell.startswith(expected), (key, cell, expected)
    monthly = stats["monthly_returns"][-1]
    assert page.locator(f'[data-month="{monthly["month"]}"]').inner_text() == f"{monthly['return'] * 100:.1f}"
    page.click('[data-period="ytd"]')
    ytd = stats_json(cli, demo, stats["period"]["end"][:4] + "-01-01")
    assert page.locator('#stats-table [data-metric="total_return"]').inner_text() == \
        percent(ytd["metrics"]["total_return"])
    assert page.console_log.problems == []


def test_navigation_reaches_every_page(page: Any, base_url: str) -> None:
    page.goto(base_url + "/")
    for name, path in PAGES.items():
        page.click(f'header nav a[data-nav="{name}"]')
        page.wait_for_url(base_url + path)
        assert page.locator("header nav a.active").get_attribute("data-nav") == name
    page.goto(base_url + "/ledger")
    page.select_option("#event-filter select", "fill.recorded")
    page.click("#event-filter button")
    kinds = set(page.locator("#events-table td:nth-child(3)").all_inner_texts())
    assert kinds == {"fill.recorded"}
    page.click("#run-verify")
    assert page.locator("#verify-result").inner_text() == "OK"
    assert page.console_log.problems == []


def test_kill_switch_activation_in_the_browser_shows_in_kill_switch_status(page: Any, base_url: str, cli: Any,
                                                                           demo: Path) -> None:
    page.goto(base_url + "/")
    page.click("#kill-switch-form >> xpath=.. >> summary")
    page.fill('#kill-switch-form input[name="reason"]', "checked from the browser")
    page.fill('#kill-switch-form input[name="confirm"]', "HALT")
    with page.expect_navigation(timeout=90_000):
        page.click("#kill-switch-form button[type=submit]")
    try:
        assert page.locator("#notice").count() == 1, page.content()[-2000:]
        assert page.locator("#kill-switch-state").inner_text() == "HALTED"
        shot(page, "overview-halted")
        status = json.loads(cli("--home", demo, "kill-switch", "status", "--json").out)
        assert status["state"] == "HALTED" and status["reason"] == "checked from the browser"
        assert page.console_log.problems == []
    finally:
        assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0


def test_login_form_in_the_browser(browser: Any, demo: Path) -> None:
    context = browser.new_context()
    page = context.new_page()
    console = Console(page)
    with open_app(demo, TOKEN) as app, serve(app) as url:
        page.goto(url + "/performance")
        assert "/login" in page.url
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/performance")
        cookie = next(c for c in context.cookies() if c["name"] == "trackrecord_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == "", "scripts cannot read the session"
    assert console.problems == []
    context.close()


def test_static_export_opens_from_file_with_the_same_numbers(page: Any, cli: Any, demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    result = cli("--home", demo, "dashboard", "--export", target)
    assert result.code == 0, result
    stats = stats_json(cli, demo)
    head = json.loads(cli("--home", demo, "ledger", "log", "--json").out)[-1]
    for name in ("index", "performance", "signals", "orders", "reports", "ledger", "annotations"):
        page.goto((target / f"{name}.html").as_uri())
        footer = page.locator("#ledger-head")
        assert footer.get_attribute("data-head-seq") == str(head["seq"]), name
        assert footer.get_attribute("data-head-hash") == head["hash"], name
        shot(page, f"export-{name}")
    page.goto((target / "index.html").as_uri())
    assert page.locator('.kpi [data-metric="sharpe"]').inner_text() == f"{stats['metrics']['sharpe']:.2f}"
    assert page.locator("canvas").count() >= 2
    page.click('header nav a[data-nav="performance"]')
    assert page.url.endswith("performance.html")
    assert page.locator('#stats-table [data-metric="total_return"]').inner_text() == \
        percent(stats["metrics"]["total_return"])
    assert json.loads((target / "api" / "stats.json").read_text()) == json.loads(json.dumps(stats))
    assert page.locator("#kill-switch-form").count() == 0, "the export changes nothing"
    assert page.console_log.problems == []
    again = cli("--home", demo, "dashboard", "--export", target)
    assert again.code == 2 and "empty folder" in again.err
    shutil.rmtree(target)
