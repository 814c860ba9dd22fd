"""``run-job`` and ``jobs`` as a trader types them on a paper workspace: every run's start,
end and outcome is in the ledger; a refusal writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.ops_support import paper_workspace


@pytest.fixture
def paper(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    root = paper_workspace(cli, tmp_path / "ws")
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-05-29T18:00:00Z")
    assert cli("--home", root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    return root


def _events(cli, root: Path, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "ledger", "log", "--kind", kind, "--json")
    assert result.code == 0, result
    return [e["payload"] for e in json.loads(result.out)]


def _count(cli, root: Path) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(cli("--home", root, "ledger", "log", "--json", "--limit", "100000").out))


def test_run_job_rebalance_then_close_records_each_run_and_settles_the_orders(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T14:30:00Z")
    rebalance = cli("--home", paper, "run-job", "rebalance", "--json")
    assert rebalance.code == 0, rebalance
    assert json.loads(rebalance.out)["details"]["orders"] == 3
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T16:00:00Z")
    close = cli("--home", paper, "run-job", "close", "--json")
    assert close.code == 0, close
    assert [s["session_date"] for s in _events(cli, paper, "snapshot.recorded")] == ["2026-06-01"]
    assert json.loads(close.out)["details"]["new_fills"] == 3
    finished = _events(cli, paper, "job.finished")
    assert [(f["job"], f["session"], f["outcome"]) for f in finished] == [
        ("rebalance", "2026-06-01", "succeeded"), ("close", "2026-06-01", "succeeded")]
    assert len(_events(cli, paper, "job.started")) == 2
    orders = json.loads(cli("--home", paper, "orders", "--json").out)
    assert {o["status"] for o in orders} == {"filled"}, "the close job settles the rebalance's orders"
    again = cli("--home", paper, "run-job", "rebalance", "--as-of", "2026-06-01", "--json")
    assert again.code == 0 and json.loads(again.out)["details"]["sent"] == 0, "a rerun sends nothing twice"
    assert cli("--home", paper, "verify").code == 0


def test_jobs_shows_next_runs_in_exchange_and_local_time_and_the_last_outcome(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T16:00:00Z")
    assert cli("--home", paper, "run-job", "close").code == 0
    document = json.loads(cli("--home", paper, "jobs", "--json").out)
    rows = {r["job"]: r for r in document["jobs"]}
    assert document["exchange_tz"] == "Europe/London" and document["scheduler_pid"] is None
    assert rows["close"]["last"]["outcome"] == "succeeded" and rows["close"]["last"]["session"] == "2026-06-01"
    assert rows["close"]["next_run"]["at_exchange"] == "2026-06-02T17:00:00+01:00"
    assert rows["rebalance"]["next_run"]["session"] == "2026-07-01"
    assert rows["flex"]["enabled"] is False and rows["rebalance"]["last"] is None
    text = cli("--home", paper, "jobs")
    assert text.code == 0 and "17:00 exchange" in text.out


def test_report_and_flex_jobs_record_what_their_commands_did(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T17:00:00Z")
    report = cli("--home", paper, "run-job", "monthly-report", "--json")
    document = json.loads(report.out)
    assert document["session"] == "2026-06-01"
    if report.code != 0:  # a May without a single fill: the report command says why, and so does the record
        assert report.code == 1 and "`trackrecord report 2026-05 --json` exited" in document["message"]
    flex = cli("--home", paper, "run-job", "flex", "--as-of", "2026-06-01", "--json")
    assert flex.code == 0 and json.loads(flex.out)["outcome"] == "skipped"
    assert "flex.query_id is not set" in json.loads(flex.out)["message"]
    outcomes = [(f["job"], f["outcome"]) for f in _events(cli, paper, "job.finished")]
    assert outcomes == [("monthly-report", document["outcome"]), ("flex", "skipped")]


@pytest.mark.parametrize("args, expected", [
    (("run-job", "rebalanse"), "unknown job"),
    (("run-job", "rebalance", "--as-of", "2026-06-02"), "does not run on that session (next: 2026-07-01)"),
    (("run-job", "close", "--as-of", "2026-05-30"), "not a XLON session"),
    (("run-job", "close", "--as-of", "2026-13-01"), "--as-of"),
])
def test_run_job_bad_input_is_one_line_exit_2_nothing_written(cli, paper: Path, args: tuple[str, ...],  # type: ignore[no-untyped-def]
                                                              expected: str) -> None:
    before = _count(cli, paper)
    result = cli("--home", paper, *args)
    assert result.code == 2, result
    assert expected in result.err and "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
    assert _count(cli, paper) == before


def test_a_failing_job_is_recorded_and_exits_1(cli, paper: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T16:00:00Z")
    (paper / "trackrecord.yaml").write_text((paper / "trackrecord.yaml").read_text().replace(
        'source: "synthetic"', 'source: "csv"').replace("csv_dir: null", 'csv_dir: "no-such-folder"'))
    result = cli("--home", paper, "run-job", "close", "--json")
    finished = _events(cli, paper, "job.finished")[-1]
    assert finished["job"] == "close"
    assert result.code == 1 and finished["outcome"] == "failed", result
    assert "no-such-folder" in json.loads(result.out)["message"]


def _runner_at(root: Path, started: str, late_rebalance: bool = False):  # type: ignore[no-untyped-def]
    from datetime import datetime

    from trackrecord.bootstrap import connect, job_env
    from trackrecord.ops.runner import Runner
    from trackrecord.ops.schedule import JobTimes
    from trackrecord.workspace import open_workspace

    if late_rebalance:
        config = root / "trackrecord.yaml"
        config.write_text(config.read_text().replace("late_rebalance: false", "late_rebalance: true"))
    services = connect(open_workspace(root))
    clock = {"now": datetime.fromisoformat(started.replace("Z", "+00:00"))}
    runner = Runner(job_env(services, sleep=lambda s: None), JobTimes.of(services.settings.scheduler),
                    lambda: clock["now"], clock["now"])
    return services, runner, clock


@pytest.mark.parametrize("late_rebalance", [False, True])
def test_a_rebalance_missed_at_its_time_is_not_sent_late_unless_configured(cli, paper: Path,  # type: ignore[no-untyped-def]
                                                                           late_rebalance: bool) -> None:
    from datetime import timedelta

    services, runner, clock = _runner_at(paper, "2026-06-01T08:00:00Z", late_rebalance)
    try:
        clock["now"] += timedelta(hours=7)  # 16:00 BST: the machine was busy; the cut-off is 16:20
        done = runner.tick()
    finally:
        services.close()
    assert [(r.job.value, r.session.isoformat()) for r, _ in done] == [("rebalance", "2026-06-01")]
    missed = _events(cli, paper, "job.missed")
    plans = _events(cli, paper, "plan.created")
    if late_rebalance:
        assert not missed and len(plans) == 1
        assert "scheduler.late_rebalance" in _events(cli, paper, "job.started")[0]["decision"]
    else:
        assert not plans and missed[0]["decision"] == "not run" and "late_rebalance is false" in missed[0]["reason"]


def test_a_close_missed_overnight_is_caught_up_and_its_snapshot_is_a_gap(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    services, runner, clock = _runner_at(paper, "2026-06-02T08:00:00Z")
    try:
        clock["now"] += timedelta(days=1, hours=9)  # 3 June 17:00 UTC: the 2 June close ran never
        done = runner.tick()
    finally:
        services.close()
    assert [(r.job.value, r.session.isoformat(), res.outcome.value) for r, res in done] == [
        ("close", "2026-06-02", "caught_up"), ("close", "2026-06-03", "succeeded")]
    gaps = _events(cli, paper, "job.missed")
    assert [(g["session"], g["decision"]) for g in gaps] == [("2026-06-02", "snapshot gap")]
    assert [s["session_date"] for s in _events(cli, paper, "snapshot.recorded")] == ["2026-06-03"]
    assert cli("--home", paper, "verify").code == 0


def test_a_kill_switch_change_from_the_command_line_is_notified_once(cli, paper: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from tests.integration.notify_servers import WebhookServer

    hook = WebhookServer()
    try:
        config = paper / "trackrecord.yaml"
        config.write_text(config.read_text().replace("webhooks: []", f'webhooks: [{{url: "{hook.url}"}}]'))
        services, runner, clock = _runner_at(paper, datetime.now(timezone.utc).isoformat())
        try:
            runner.tick()
            assert cli("--home", paper, "kill-switch", "activate", "broker statement looks wrong").code == 0
            runner.tick()
            runner.tick()
        finally:
            services.close()
    finally:
        hook.close()
    told = [b for b in hook.bodies if b["event"] == "kill_switch"]
    assert len(told) == 1 and told[0]["subject"] == "kill switch HALTED"
    assert "ACTIVE -> HALTED: broker statement looks wrong" in told[0]["text"]


@pytest.mark.postgres
def test_jobs_and_doctor_on_postgresql(cli, tmp_path: Path, pg_url: str,  # type: ignore[no-untyped-def]
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    root = paper_workspace(cli, tmp_path / "pg")
    config = root / "trackrecord.yaml"
    config.write_text(config.read_text().replace("url: null", f'url: "{pg_url}"'))
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-05-29T18:00:00Z")
    assert cli("--home", root, "cashflow", "add", "--date", "2026-05-29", "--amount", "100000").code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T14:30:00Z")
    assert cli("--home", root, "run-job", "rebalance").code == 0
    monkeypatch.setenv("TRACKRECORD_NOW", "2026-06-01T16:00:00Z")
    assert cli("--home", root, "run-job", "close").code == 0
    rows = {r["job"]: r for r in json.loads(cli("--home", root, "jobs", "--json").out)["jobs"]}
    assert rows["rebalance"]["last"]["outcome"] == rows["close"]["last"]["outcome"] == "succeeded"
    doctor = json.loads(cli("--home", root, "doctor", "--json").out)
    checks = {c["check"]: c["status"] for c in doctor["checks"]}
    assert checks["database"] == checks["ledger"] == checks["data"] == "ok", doctor
    assert cli("--home", root, "verify").code == 0
