"""The dashboard's JSON API serves the CLI's own --json documents, from the database only,
cached by the ledger head; /healthz answers from real state; the command refuses to listen
on the network without a token."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.dashboard_support import TOKEN, open_app, shared_demo

pytest.importorskip("fastapi")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo()


@pytest.fixture
def client(demo: Path) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with open_app(demo) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        http.app_documents = app.state.documents
        yield http


def cli_json(cli: Any, root: Path, *args: str) -> Any:
    result = cli("--home", root, *args, "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def api_json(client: Any, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def normalised(document: Any) -> Any:
    """What the CLI prints, read back (``default=str`` and all)."""
    return json.loads(json.dumps(document, default=str))


@pytest.mark.parametrize("path, args", [
    ("/api/v1/stats", ("stats",)),
    ("/api/v1/stats?from=2026-01-01&to=2026-04-30", ("stats", "2026-01-01", "2026-04-30")),
    ("/api/v1/stats?benchmark=none", ("stats", "--benchmark", "none")),
    ("/api/v1/trades", ("trades",)),
    ("/api/v1/slippage", ("slippage",)),
    ("/api/v1/orders?limit=7", ("orders", "--limit", "7")),
    ("/api/v1/kill-switch", ("kill-switch", "status")),
    ("/api/v1/verify", ("verify",)),
])
def test_api_documents_are_the_cli_json_documents(client: Any, cli: Any, demo: Path, path: str,
                                                  args: tuple[str, ...]) -> None:
    assert api_json(client, path) == normalised(cli_json(cli, demo, *args))


def test_api_event_pages_are_ledger_log_json_newest_first(client: Any, cli: Any, demo: Path) -> None:
    log = cli_json(cli, demo, "ledger", "log", "--kind", "fill.recorded")
    first = api_json(client, "/api/v1/ledger/events?kind=fill.recorded&limit=5")
    assert first["events"] == list(reversed(log))[:5]
    second = api_json(client, f"/api/v1/ledger/events?kind=fill.recorded&limit=5&before={first['next_before']}")
    assert second["events"] == list(reversed(log))[5:10]


def test_api_summary_period_figures_equal_stats_from_the_period_start(client: Any, cli: Any, demo: Path) -> None:
    summary = api_json(client, "/api/v1/summary")
    assert summary["label"] == "SIMULATED" and summary["ledger"]["head_seq"] > 0
    whole = cli_json(cli, demo, "stats")
    periods = {p["period"]: p for p in summary["periods"]}
    assert periods["inception"]["pnl"] == pytest.approx(whole["metrics"]["pnl"], abs=1e-6)
    assert periods["inception"]["return"] == pytest.approx(whole["metrics"]["total_return"], abs=1e-12)
    end = summary["as_of"]
    for name, start in (("month", end[:8] + "01"), ("year", end[:5] + "01-01")):
        part = cli_json(cli, demo, "stats", start)
        assert periods[name]["pnl"] == pytest.approx(part["metrics"]["pnl"], abs=1e-6), name
        assert periods[name]["return"] == pytest.approx(part["metrics"]["total_return"], abs=1e-12), name
    assert summary["metrics"]["sharpe"] == whole["metrics"]["sharpe"]
    assert summary["nav"] == pytest.approx(float(cli_json(cli, demo, "ledger", "log", "--kind", "snapshot.recorded")
                                                 [-1]["payload"]["nav"]))


def test_the_cache_stays_bounded_whatever_the_queries(client: Any) -> None:
    from trackrecord.dashboard.documents import MAX_CACHED

    documents = client.app_documents
    for day in range(1, 29):
        for month in range(1, 13):
            assert client.get(f"/api/v1/ledger/events?limit={day + month}&before={day * 100 + month}").status_code == 200
    assert len(documents._cache.values) <= MAX_CACHED


def test_documents_are_cached_until_the_ledger_head_moves(client: Any, cli: Any, demo: Path) -> None:
    documents = client.app_documents
    first = documents.cached_json(("trades",), documents.trades)
    assert documents.cached_json(("trades",), documents.trades) is first, "nothing new recorded: no recomputation"
    before = api_json(client, "/api/v1/kill-switch")
    assert before["state"] == "ACTIVE"
    assert cli("--home", demo, "kill-switch", "activate", "cache test").code == 0
    try:
        assert api_json(client, "/api/v1/kill-switch")["state"] == "HALTED", "a new head is seen at once"
        assert documents.cached_json(("trades",), documents.trades) is not first
    finally:
        assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0


def test_healthz_reports_the_real_head_daily_job_and_freshness(client: Any, cli: Any, demo: Path) -> None:
    health = api_json(client, "/healthz")
    head = cli_json(cli, demo, "ledger", "log")[-1]
    assert health["database"]["reachable"] is True
    assert health["ledger"] == {"head_seq": head["seq"], "head_hash": head["hash"]}
    assert health["last_daily_job"]["passed"] is True
    assert health["freshness"]["last_snapshot"] == health["freshness"]["expected_session"]
    assert health["status"] == "ok"


def test_healthz_on_an_empty_workspace_says_stale_and_what_is_missing(workspace: Path) -> None:
    from fastapi.testclient import TestClient

    with open_app(workspace) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        health = http.get("/healthz").json()
        assert health["status"] == "stale" and health["last_daily_job"] is None
        assert "no snapshot recorded" in health["freshness"]["warnings"]
        assert http.get("/api/v1/stats").status_code == 404
        summary = http.get("/api/v1/summary").json()
        assert summary["empty"] is True and any("import snapshots" in s for s in summary["next_steps"])
        for page in ("/", "/performance", "/signals", "/orders", "/reports", "/ledger", "/annotations"):
            response = http.get(page)
            assert response.status_code == 200, page
        assert 'id="empty-state"' in http.get("/").text


def test_bad_api_input_is_a_400_naming_it_never_a_500(client: Any) -> None:
    response = client.get("/api/v1/stats?from=2026-02-30")
    assert response.status_code == 400 and "2026-02-30" in response.json()["detail"]
    response = client.get("/api/v1/stats?from=2026-05-01&to=2026-01-01")
    assert response.status_code == 400 and "after" in response.json()["detail"]
    assert client.get("/api/v1/stats?benchmark=NOPE").status_code == 400
    assert client.get("/reports/file/../trackrecord.yaml").status_code in (400, 404)


def test_dashboard_refuses_a_network_address_without_a_token(cli: Any, workspace: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRACKRECORD_DASHBOARD_TOKEN", raising=False)
    result = cli("--home", workspace, "dashboard", "--host", "0.0.0.0")
    assert result.code == 2 and "TRACKRECORD_DASHBOARD_TOKEN" in result.err and "Traceback" not in result.err
    monkeypatch.setenv("TRACKRECORD_DASHBOARD_TOKEN", "short")
    result = cli("--home", workspace, "dashboard", "--host", "0.0.0.0")
    assert result.code == 2 and "at least 16" in result.err


def test_without_a_token_only_loopback_host_names_are_answered(client: Any) -> None:
    assert client.get("/healthz", headers={"host": "evil.example:5050"}).status_code == 400
    assert client.get("/healthz", headers={"host": "localhost:5050"}).status_code == 200


def test_help_stays_fast_no_web_framework_imported() -> None:
    import subprocess
    import sys

    code = "import sys; from trackrecord.cli.app import build_app; build_app(); print('fastapi' in sys.modules, 'jinja2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "False False"


def test_annotations_are_annotate_list_json_newest_first(client: Any, cli: Any, demo: Path) -> None:
    result = cli("--home", demo, "annotate", "new", "--pre", "--symbol", "SXLK", "--thesis", "dashboard shows this")
    assert result.code == 0, result
    listed = cli_json(cli, demo, "annotate", "list")
    document = api_json(client, "/api/v1/annotations")
    assert document["annotations"] == list(reversed(listed))
    page = client.get("/annotations").text
    assert "dashboard shows this" in page and 'id="empty-state"' not in page


def test_reports_page_lists_the_pdfs_with_their_sha256_and_serves_them(client: Any, cli: Any, demo: Path) -> None:
    import hashlib

    result = cli("--home", demo, "report", "2026-04", "--json")
    assert result.code == 0, result
    made = json.loads(result.out)
    listed = api_json(client, "/api/v1/reports")["reports"]
    entry = next(r for r in listed if r["path"].endswith("2026-04.pdf"))
    pdf = (demo / "reports" / entry["path"]).read_bytes()
    assert entry["sha256"] == hashlib.sha256(pdf).hexdigest() and entry["recorded"] is True
    assert made["sha256"] == entry["sha256"]
    page = client.get("/reports").text
    assert entry["sha256"] in page
    download = client.get(f"/reports/file/{entry['path']}")
    assert download.status_code == 200 and download.content == pdf


NAVS = "date,nav\n2026-01-30,100000\n2026-02-27,101000\n2026-03-31,99500\n2026-04-30,102000\n"


@pytest.mark.parametrize("account, label", [("U1234567", "LIVE"), ("DU1234567", "IB PAPER")])
def test_an_imported_broker_record_is_labelled_live_or_ib_paper(cli: Any, workspace: Path, tmp_path: Path,
                                                                 account: str, label: str) -> None:
    from fastapi.testclient import TestClient

    navs = tmp_path / "navs.csv"
    navs.write_text(NAVS)
    assert cli("--home", workspace, "import", "snapshots", navs, "--account", account).code == 0
    with open_app(workspace) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        assert http.get("/api/v1/summary").json()["label"] == label
        page = http.get("/").text
        assert f'data-label="{label}"' in page and "SIMULATED" not in page
        if label == "LIVE":  # the label cannot say alone that the trader's files, not the broker, gave the figures
            assert ('<span id="live-banner">Live account at Interactive Brokers. 100% of its snapshots were imported '
                    "from files the trader supplied, not read from the broker by trackrecord") in page, page[:2000]


def test_a_record_under_the_placeholder_account_does_not_claim_an_ib_account(cli: Any, workspace: Path,
                                                                             tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    navs = tmp_path / "navs.csv"
    navs.write_text(NAVS)
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0  # filed under SIM0001: no IB account set
    with open_app(workspace) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        page = http.get("/performance").text
    banner = re.search(r'<span id="live-banner">(.*?)</span>', page)
    assert banner and banner.group(1).startswith("Live record. 100% of its snapshots were imported"), banner
    assert "Live account at Interactive Brokers" not in page
    assert "the record is filed under the placeholder id SIM0001." in banner.group(1)


@pytest.mark.postgres
def test_on_postgresql_the_documents_match_and_healthz_says_down_when_the_database_goes(
        cli: Any, tmp_path: Path, pg_url: str) -> None:
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("  url: null", f'  url: "{pg_url}"'))
    navs = tmp_path / "navs.csv"
    navs.write_text(NAVS)
    assert cli("--home", root, "import", "snapshots", navs).code == 0
    with open_app(root) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        assert http.get("/api/v1/stats").json() == normalised(cli_json(cli, root, "stats"))
        assert http.get("/healthz").json()["database"] == {"reachable": True, "dialect": "postgresql"}
        admin = create_engine(pg_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{pg_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
        response = http.get("/healthz")
        assert response.status_code == 503 and response.json()["status"] == "down"
        assert response.json()["database"]["reachable"] is False


def test_a_page_with_bad_input_says_so_in_html(client: Any) -> None:
    response = client.get("/performance?from=2026-13-01")
    assert response.status_code == 400 and "2026-13-01" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_healthz_takes_the_schedulers_last_close_job_and_warns_of_a_failed_one(cli: Any, workspace: Path,
                                                                                tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    navs = tmp_path / "navs.csv"
    navs.write_text(NAVS)
    assert cli("--home", workspace, "import", "snapshots", navs).code == 0
    with open_app(workspace) as app, TestClient(app, base_url="http://127.0.0.1") as http:
        ledger = app.state.documents.services.ledger
        base = {"job": "close", "scheduled_for": "2026-04-30T17:00:00Z", "trigger": "scheduler", "details": {}}
        ok = ledger.append("job.finished", {**base, "session": "2026-04-30", "outcome": "succeeded", "message": "ok"})
        health = http.get("/healthz").json()
        assert health["last_daily_job"]["seq"] == ok.seq and health["last_daily_job"]["source"] == "scheduler"
        ledger.append("job.finished", {**base, "session": "2026-05-01", "outcome": "failed", "message": "IB down"})
        health = http.get("/healthz").json()
        assert health["last_daily_job"]["seq"] == ok.seq and health["status"] == "stale"
        assert any("close job of 2026-05-01 failed: IB down" in w for w in health["freshness"]["warnings"])


@pytest.mark.slow
def test_the_dashboard_command_serves_on_loopback_and_follows_the_ledger(cli: Any, demo: Path) -> None:
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.integration.dashboard_support import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(demo), "dashboard", "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        started = time.perf_counter()
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            page = response.read().decode()
            assert response.headers["X-Frame-Options"] == "DENY"
        assert time.perf_counter() - started < 2.0, "the overview was built before the server listened"
        assert 'id="kill-switch-state">ACTIVE' in page
        assert cli("--home", demo, "kill-switch", "activate", "seen by the server").code == 0
        time.sleep(6)  # the server rebuilds the overview for the new head within 5 s
        with urllib.request.urlopen(url + "/", timeout=30) as response:
            assert 'id="kill-switch-state">HALTED' in response.read().decode()
    finally:
        server.terminate()
        server.wait(10)
        assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0


def _dashboard_settings(home: Path, host: str, port: int) -> None:
    path = home / "trackrecord.yaml"
    text = path.read_text()
    start = text.index("\ndashboard:")
    section = text[start:text.index("\nnotifications:")]
    edited = section.replace('host: "127.0.0.1"', f'host: "{host}"').replace("port: 8765", f"port: {port}")
    assert edited != section
    path.write_text(text.replace(section, edited))


@pytest.mark.slow
def test_the_dashboard_listens_where_trackrecord_yaml_says(cli: Any, demo: Path, tmp_path: Path) -> None:
    """`dashboard.host` and `dashboard.port` were ignored: the command always took 127.0.0.1:5050."""
    import os
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.integration.dashboard_support import free_port

    home = tmp_path / "ws"
    shutil.copytree(demo, home)
    port = free_port()
    _dashboard_settings(home, "127.0.0.1", port)
    server = subprocess.Popen([sys.executable, "-m", "trackrecord", "--home", str(home), "dashboard"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(10)
    assert f"dashboard on http://127.0.0.1:{port}/" in server.stderr.read().decode()
    _dashboard_settings(home, "0.0.0.0", port)  # on the network without a token: refused, as --host 0.0.0.0 is
    without_token = {k: v for k, v in os.environ.items() if not k.startswith("TRACKRECORD_DASHBOARD_TOKEN")}
    refused = subprocess.run([sys.executable, "-m", "trackrecord", "--home", str(home), "dashboard"],
                             capture_output=True, text=True, env=without_token, timeout=60)
    assert refused.returncode == 2 and "0.0.0.0" in refused.stderr and refused.stderr.count("\n") == 1, refused
