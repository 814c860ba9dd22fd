"""Render ``trackrecord.yaml`` with every key, its default and a one-line comment."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from trackrecord.config import Settings

COMMENTS: dict[str, str] = {
    "mode": "dry_run (plan and record, send nothing) | paper (simulated broker) | live (IBKR)",
    "account": "the trading account",
    "account.base_currency": "currency the account and every report is valued in",
    "account.account_id": "IB account that must be the connected one (live); null to skip the check",
    "database": "where the ledger lives",
    "database.url": "SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db; null = trackrecord.db here",
    "signing": "the Ed25519 key that signs checkpoints (the public key stays in keys/)",
    "signing.key_file": "private key file, best outside the workspace (init --key-file); null = keys/ledger.ed25519",
    "universe": "what the strategy ranks and trades",
    "universe.name": "preset name, for your information",
    "universe.calendar": "exchange calendar (exchange_calendars code): sessions, holidays, closes",
    "universe.instruments": "symbol, price-source symbol, sector, currency, quote unit (the currency, or GBX/GBp = pence), IB contract",
    "prices": "market data",
    "prices.source": "yahoo | csv | synthetic (SIMULATED demo market)",
    "prices.csv_dir": "folder of <SYMBOL>.csv files (relative to the workspace); required when source is csv",
    "prices.synthetic_seed": "seed of the synthetic market",
    "prices.history_start": "first date fetched when the store is empty",
    "prices.max_daily_move": "a larger one-day move blocks the signal (pence/pound mix-ups)",
    "prices.max_gap_sessions": "missing sessions in a row tolerated before the gate blocks",
    "prices.fx_rates": "units of base currency per unit of another currency, e.g. {USD: '0.79'}; required for every instrument currency other than the base",
    "strategy": "12-1 momentum rotation",
    "strategy.lookback_months": "formation window length in months",
    "strategy.skip_months": "most recent months skipped",
    "strategy.top_n": "names held, at equal weight",
    "strategy.exit_rank": "a held name stays while its rank is within this (hysteresis)",
    "strategy.min_momentum": "momentum floor; a slot below it goes to cash (null = none)",
    "strategy.drift_band": "weight drift tolerated before a kept name is traded",
    "strategy.cash_buffer": "fraction of NAV kept in cash when planning",
    "strategy.min_order_value": "smallest order worth sending, base currency",
    "strategy.order_type": "MOC (closing auction) | MKT",
    "risk": "pre-trade rules; each decision is written to the ledger",
    "risk.max_position_weight": "largest weight of one name after the trades (must fit 1/top_n)",
    "risk.max_turnover": "traded value / NAV per run",
    "risk.allow_initial_deployment": "a first deployment from cash may exceed max_turnover",
    "risk.max_order_value": "largest single order, base currency",
    "risk.max_orders_per_run": "largest number of orders in one run",
    "risk.price_collar": "refuse a reference price further than this from the last close",
    "risk.max_price_age_sessions": "refuse prices older than this many sessions",
    "risk.daily_loss_limit": "halt when NAV fell more than this since the last snapshot",
    "risk.moc_cutoff_minutes": "MOC orders only until this many minutes before the close",
    "broker": "brokers",
    "broker.ibkr": "Interactive Brokers through ib_async (live mode)",
    "broker.ibkr.host": "TWS / IB Gateway host",
    "broker.ibkr.port": "7497 TWS paper, 7496 TWS live, 4002/4001 Gateway",
    "broker.ibkr.client_id": "API client id",
    "broker.ibkr.connect_timeout": "seconds per connection attempt",
    "broker.ibkr.request_timeout": "seconds before a request is given up",
    "broker.ibkr.max_connect_attempts": "attempts, with exponential back-off",
    "broker.ibkr.read_only": "log executions and snapshots only; never place orders",
    "broker.ibkr.order_timeout": "seconds to follow an order to a terminal state",
    "broker.sim": "simulated broker (paper mode, demo, backtest)",
    "broker.sim.seed": "seed of the simulated slippage",
    "broker.sim.commission_rate": "commission as a fraction of trade value",
    "broker.sim.commission_min": "minimum commission per order, base currency",
    "broker.sim.slippage_bps": "simulated slippage against the reference price, basis points",
    "broker.sim.account_id": "simulated account id",
    "performance": "how returns are computed",
    "performance.flow_timing": "start (flows trade that day) | mid | end",
    "performance.risk_free_rate": "annual risk-free rate for Sharpe and Sortino",
    "performance.benchmark": "universe (equal weight, monthly) | none | an instrument symbol",
    "performance.benchmarks": "more benchmark symbols (e.g. SPY): prices stored by prices import/update, never ranked or traded",
    "dashboard": "web dashboard",
    "dashboard.host": "bind address; keep 127.0.0.1 unless behind an authenticating proxy",
    "dashboard.port": "port",
    "notifications": "e-mail and webhook notifications (SMTP password from TRACKRECORD_SMTP_PASSWORD)",
    "notifications.smtp_host": "SMTP server; null = no e-mail",
    "notifications.smtp_port": "SMTP port (587 STARTTLS, 465 TLS)",
    "notifications.smtp_user": "SMTP user name; null = no login",
    "notifications.smtp_security": "starttls | tls | none (none only for a relay on this machine)",
    "notifications.email_from": "sender address; null = smtp_user, else trackrecord@localhost",
    "notifications.email_to": "recipients",
    "notifications.webhooks": "JSON POSTs: - {url_env: TRACKRECORD_SLACK_URL, format: slack} (slack | discord | generic)",
    "notifications.events": "the events that are sent (remove one to mute it)",
    "notifications.attempts": "delivery attempts per notification and channel",
    "notifications.backoff_seconds": "wait before the second attempt, doubled each time",
    "notifications.timeout_seconds": "seconds per delivery attempt",
    "scheduler": "`trackrecord scheduler`: jobs on the exchange's sessions, in the exchange's time zone",
    "scheduler.jobs": "the jobs the scheduler runs (add flex once reconcile is configured)",
    "scheduler.rebalance_minutes_before_close": "rebalance this long before the close (more than risk.moc_cutoff_minutes)",
    "scheduler.close_minutes_after_close": "the close job (prices, pull, snapshot, checkpoint) this long after the close",
    "scheduler.reports_minutes_after_close": "the monthly and weekly reports this long after the close",
    "scheduler.flex_time": "exchange time (HH:MM, quoted) of the flex job on the session after",
    "scheduler.late_rebalance": "a rebalance missed at its time is still sent before the cut-off of its own session",
    "scheduler.live_orders": "mode: live only: the rebalance job sends orders unattended (false: plans, records, refuses)",
    "scheduler.heartbeat_seconds": "heartbeat and systemd watchdog interval",
    "logging": "the rotating log file in logs/",
    "logging.level": "DEBUG | INFO | WARNING | ERROR",
    "logging.max_bytes": "size of a log file before it rotates",
    "logging.backups": "rotated files kept",
    "flex": "IBKR Flex Web Service for `flex fetch` (token from TRACKRECORD_FLEX_TOKEN)",
    "flex.query_id": "id of your Activity Flex query (Client Portal > Performance & Reports > Flex Queries); null = not set",
    "flex.base_url": "Flex Web Service address (SendRequest and GetStatement live under it)",
    "flex.retry_seconds": "first wait while IB prepares the statement; doubles on each 'not ready', up to 60 s",
    "flex.max_attempts": "requests before `flex fetch` gives up on a statement that is not ready",
    "flex.timeout_seconds": "seconds one request may take",
}

HEADER = """\
# trackrecord workspace configuration. Every key is shown with its default.
# Secrets never live here: set TRACKRECORD_SMTP_PASSWORD, TRACKRECORD_DASHBOARD_TOKEN and
# TRACKRECORD_FLEX_TOKEN in the environment (or *_FILE). Check this file with `trackrecord config check`.
"""


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else json.dumps(value)


def _emit(data: Any, path: str, indent: int, out: list[str]) -> None:
    pad = "  " * indent
    for key, value in data.items():
        dotted = f"{path}.{key}" if path else key
        comment = COMMENTS.get(dotted)
        suffix = f"  # {comment}" if comment else ""
        if isinstance(value, dict) and value:
            out.append(f"{pad}{key}:{suffix}")
            _emit(value, dotted, indent + 1, out)
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            out.append(f"{pad}{key}:{suffix}")
            for item in value:
                out.append(f"{pad}  - {json.dumps(item, ensure_ascii=False)}")
        else:
            if isinstance(value, (dict, list)):
                rendered = json.dumps(value)
            else:
                rendered = "null" if value is None else _scalar(value)
            out.append(f"{pad}{key}: {rendered}{suffix}")


def render_config(settings: Settings) -> str:
    data = settings.model_dump(mode="json")
    out: list[str] = []
    _emit(data, "", 0, out)
    return HEADER + "\n".join(out) + "\n"


def model_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key of a settings model, for the completeness test of COMMENTS."""
    keys: list[str] = []
    for name, info in model.model_fields.items():
        dotted = f"{prefix}.{name}" if prefix else name
        keys.append(dotted)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(model_keys(annotation, dotted))
    return keys
