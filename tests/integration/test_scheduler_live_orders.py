"""In ``mode: live`` the scheduler's rebalance sends orders only with ``scheduler.live_orders:
true``: nobody is at the keyboard to type the CONFIRM that ``execute --live`` asks for.
Against the fake TWS with the real ib_async client (the workspace of test_execute_live)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.notify_servers import WebhookServer
from tests.integration.test_execute_live import (  # noqa: F401 - fixtures
    REBALANCE,
    _edit,
    _events,
    _on_the_rebalance_day,
    _placed,
    fake,
    template,
    ws,
)


@pytest.fixture
def hook() -> Iterator[WebhookServer]:
    server = WebhookServer()
    try:
        yield server
    finally:
        server.close()


def _run_job(cli: Any, root: Path) -> Any:
    with _on_the_rebalance_day():
        return cli("--home", root, "run-job", "rebalance", "--as-of", REBALANCE, "--json")


def test_live_rebalance_job_without_the_opt_in_records_the_plan_and_refuses_to_send(cli, ws, fake, hook):  # type: ignore[no-untyped-def]
    _edit(ws, notifications={"webhooks": [{"url": hook.url, "format": "generic"}]})
    refused = _run_job(cli, ws)
    assert refused.code == 3, refused
    assert "scheduler.live_orders is false" in refused.err and "Traceback" not in refused.err
    assert _placed(fake) == []
    assert len(_events(ws, "plan.created")) == 1 and len(_events(ws, "risk.decided")) == 1
    [finished] = _events(ws, "job.finished")
    assert (finished["job"], finished["outcome"]) == ("rebalance", "refused")
    assert "scheduler.live_orders" in finished["message"]
    [told] = [b for b in hook.bodies if "refused" in json.dumps(b)]
    assert "scheduler.live_orders" in json.dumps(told)
    assert any(e["event"] == "risk_denial" for e in _events(ws, "notification.sent"))
    assert cli("--home", ws, "verify").code == 0


def test_live_rebalance_job_with_the_opt_in_sends_the_recorded_plan_once(cli, ws, fake):  # type: ignore[no-untyped-def]
    assert _run_job(cli, ws).code == 3
    _edit(ws, scheduler={"live_orders": True})
    sent = _run_job(cli, ws)
    assert sent.code == 0, sent
    document = json.loads(sent.out)
    assert document["outcome"] == "succeeded" and document["details"]["sent"] == 3
    assert len(_placed(fake)) == 3 and len(_events(ws, "plan.created")) == 1


def test_doctor_reports_the_live_orders_setting(cli, ws, fake):  # type: ignore[no-untyped-def]
    def detail() -> str:
        [check] = [c for c in json.loads(cli("--home", ws, "doctor", "--json").out)["checks"]
                   if c["check"] == "live orders"]
        return str(check["detail"])

    assert detail().startswith("scheduler.live_orders: false: the rebalance job plans, records and refuses")
    _edit(ws, scheduler={"live_orders": True})
    assert detail().startswith("scheduler.live_orders: true: the rebalance job sends live orders unattended")
