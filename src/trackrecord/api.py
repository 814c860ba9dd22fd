"""A read-only Python API over a workspace, for notebooks.

    import trackrecord
    with trackrecord.open("~/trading") as ws:
        ws.stats()                      # the `stats --json` document
        ws.navs()                       # pandas Series: NAV by session date
        ws.returns(frequency="monthly") # pandas Series: time-weighted monthly returns

Every figure is the one the CLI prints: the documents come from the same functions as
``stats --json``, ``trades --json``, ``slippage --json``, ``cashflow list --json``,
``ledger log --json`` and ``verify --json``. Series and frames are those documents'
rows, not a second computation. Nothing here writes: the database is opened read-only
(SQLite ``mode=ro``, PostgreSQL read-only transactions) and never migrated, so a
workspace whose schema is older than this version is refused with the command that
upgrades it. Workspaces that cannot be opened raise ``UserError`` with the same one-line
message the CLI prints.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trackrecord.engine.cashflows import configured_account_id
from trackrecord.engine.performance import (
    benchmark_name,
    load_benchmark,
    load_performance_inputs,
    performance_stats,
    slippage_document,
    trades_document,
)
from trackrecord.errors import RuntimeFailure, UserError
from trackrecord.ledger.cashflows import recorded_cashflows
from trackrecord.ledger.db import HEAD_REVISION, create_read_only_engine, current_revision
from trackrecord.ledger.operations import log_entries, verify_ledger
from trackrecord.ledger.parsing import parse_date
from trackrecord.ledger.queries import reading, recorded_accounts
from trackrecord.ledger.store import SqlLedger
from trackrecord.services import Services
from trackrecord.workspace import Workspace, open_workspace

if TYPE_CHECKING:
    import pandas as pd

Frequency = Literal["record", "monthly", "yearly"]


def open(home: str | Path | None = None) -> "TrackRecord":  # noqa: A001 - the API's entry point is `trackrecord.open`
    """Open the workspace at ``home`` (else ``$TRACKRECORD_HOME``, else the current folder) read-only."""
    workspace = open_workspace(Path(home).expanduser() if home is not None else None)
    return TrackRecord(_read_only_services(workspace))


def _read_only_services(workspace: Workspace) -> Services:
    from sqlalchemy.exc import OperationalError

    url = workspace.database_url
    if url.startswith("sqlite") and not (workspace.root / "trackrecord.db").exists() and workspace.settings.database.url is None:
        raise UserError(f"{workspace.root}: the workspace has no database yet; run any trackrecord command there first")
    engine = create_read_only_engine(url)
    try:
        revision = current_revision(engine)
    except OperationalError as exc:
        engine.dispose()
        raise RuntimeFailure(f"cannot open the database {engine.url.render_as_string(hide_password=True)}: {exc.orig}") from None
    if revision != HEAD_REVISION:
        engine.dispose()
        raise UserError(f"{workspace.root}: the database schema is at revision {revision or 'none'}, this version reads "
                        f"{HEAD_REVISION}; run `trackrecord --home {workspace.root} verify` once to upgrade it")
    return Services(workspace, engine, SqlLedger(engine, None))


@dataclass
class TrackRecord:
    """One workspace, read-only. Close it (or use ``with``) to release the database."""

    services: Services

    def __enter__(self) -> "TrackRecord":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.services.engine.dispose()

    @property
    def root(self) -> Path:
        return self.services.workspace.root

    # -- the CLI's documents -------------------------------------------------------------

    def stats(self, period_from: date | str | None = None, period_to: date | str | None = None, *,
              benchmark: str | None = None, account: str | None = None) -> dict[str, Any]:
        """``stats [FROM] [TO] --json``."""
        return performance_stats(self.services, _day(period_from, "FROM"), _day(period_to, "TO"), benchmark,
                                 account_id=account)

    def trades(self, period_from: date | str | None = None, period_to: date | str | None = None, *,
               account: str | None = None) -> dict[str, Any]:
        """``trades [FROM] [TO] --json``."""
        return trades_document(self.services, _day(period_from, "FROM"), _day(period_to, "TO"), account_id=account)

    def slippage(self, *, account: str | None = None) -> dict[str, Any]:
        """``slippage --json``."""
        return slippage_document(self.services, account_id=account)

    def verify(self) -> dict[str, Any]:
        """``verify --json``: the chain, signatures, projections and stores rechecked."""
        return verify_ledger(self.services.ledger, self.services.workspace.public_key_path).document()

    def events(self, kind: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        """``ledger log [--kind K] [--after N] --json``."""
        return [event.document() for event in log_entries(self.services.ledger, kind, after)]

    def cashflows(self, account: str | None = None) -> list[dict[str, Any]]:
        """``cashflow list [--account A] --json`` (voided flows included, marked)."""
        default = configured_account_id(self.services.settings)
        return [flow.document(default) for flow in recorded_cashflows(self.services.engine, account, default)]

    # -- pandas views of the same record -------------------------------------------------

    def accounts(self) -> list[str]:
        """Accounts with snapshots or fills, sorted."""
        with reading(self.services.engine) as conn:
            return recorded_accounts(conn)

    def navs(self, account: str | None = None) -> "pd.Series":
        """NAV in the base currency at each recorded session (``stats`` chooses the same account)."""
        import pandas as pd

        inputs = self._inputs(account)
        return pd.Series(inputs.navs, index=pd.DatetimeIndex(inputs.dates, name="session"),
                         name=f"nav_{inputs.base_currency}")

    def returns(self, account: str | None = None, frequency: Frequency = "record") -> "pd.Series":
        """Time-weighted returns: ``record`` (each snapshot over the one before, as ``stats``
        chains them, so a monthly record gives monthly returns), ``monthly`` or ``yearly``
        (the ``monthly_returns`` / ``yearly_returns`` of ``stats --json``)."""
        import pandas as pd

        document = self._stats_with_series(account)
        if frequency == "record":
            series = document["series"]
            values = [float("nan") if v is None else v for v in series["returns"][1:]]
            return pd.Series(values, index=pd.DatetimeIndex(series["dates"][1:], name="session"), name="return")
        if frequency in ("monthly", "yearly"):
            return _period_returns(document[f"{frequency}_returns"], frequency)
        raise UserError(f"frequency {frequency!r}: expected record, monthly or yearly")

    def drawdown(self, account: str | None = None) -> "pd.Series":
        """Drawdown of the TWR index (0 at a high, negative below it)."""
        import pandas as pd

        series = self._stats_with_series(account)["series"]
        return pd.Series(series["drawdown"], index=pd.DatetimeIndex(series["dates"], name="session"), name="drawdown")

    def benchmark(self, account: str | None = None, name: str | None = None) -> "pd.Series":
        """The benchmark ``stats`` compares with (``performance.benchmark`` unless ``name``:
        a symbol, ``universe``), as its last close on or before each recorded session,
        rebased to 1 at the record's first session. Empty when no benchmark is available."""
        import numpy as np
        import pandas as pd


        inputs = self._inputs(account)
        settings = self.services.settings
        closes, _reason = load_benchmark(self.services.engine, settings, benchmark_name(name, settings),
                                         inputs.dates[0], inputs.dates[-1])
        sessions = pd.DatetimeIndex(inputs.dates, name="session")
        if closes is None:
            return pd.Series(dtype=float, index=sessions[:0], name="benchmark")
        dates, values = closes
        at = np.searchsorted(np.asarray(dates, dtype="datetime64[D]"), sessions.values.astype("datetime64[D]"), "right") - 1
        aligned = np.where(at >= 0, np.asarray(values, dtype=float)[np.maximum(at, 0)], np.nan)
        return pd.Series(aligned / aligned[0], index=sessions, name="benchmark")

    def flows(self, account: str | None = None) -> "pd.DataFrame":
        """``cashflows()`` as a frame indexed by booking date (voided flows have ``voided_by``)."""
        import pandas as pd

        frame = pd.DataFrame(self.cashflows(account),
                             columns=["seq", "date", "account", "amount", "currency", "note", "date_given", "voided_by"])
        frame["amount"] = frame["amount"].astype(float)
        return frame.set_index(pd.DatetimeIndex(frame.pop("date"), name="date"))

    def fills(self, account: str | None = None) -> "pd.DataFrame":
        """The account's current (not superseded) fills, oldest first; amounts exact as recorded."""
        import pandas as pd

        inputs = self._inputs(account)
        rows = [{"executed_at": f.executed_at, "symbol": f.symbol, "side": f.side, "quantity": float(f.quantity),
                 "price": float(f.price), "commission": float(f.commission), "commission_pending": f.commission_pending}
                for f in inputs.fills]
        columns = ["executed_at", "symbol", "side", "quantity", "price", "commission", "commission_pending"]
        return pd.DataFrame(rows, columns=columns)

    def positions(self, account: str | None = None, on: date | str | None = None) -> "pd.DataFrame":
        """Positions of the last snapshot on or before ``on`` (the latest without), by symbol."""
        import pandas as pd

        inputs = self._inputs(account)
        when = _day(on, "on")
        index = len(inputs.dates) - 1 if when is None else bisect_right(inputs.dates, when) - 1
        if index < 0:
            raise UserError(f"on={when}: the record of account {inputs.account_id} starts on {inputs.dates[0]}")
        rows = json.loads(inputs.positions[index] or "[]")
        frame = pd.DataFrame(rows, columns=["symbol", "quantity", "avg_cost", "market_price", "market_value",
                                            "price_date", "currency"])
        for column in ("quantity", "avg_cost", "market_price", "market_value"):
            frame[column] = frame[column].astype(float)
        frame.attrs["session"] = inputs.dates[index].isoformat()
        return frame.set_index("symbol")

    def _inputs(self, account: str | None) -> Any:

        return load_performance_inputs(self.services.engine, self.services.settings, account)

    def _stats_with_series(self, account: str | None) -> dict[str, Any]:

        return performance_stats(self.services, account_id=account, include_series=True)


def _day(value: date | str | None, name: str) -> date | None:

    if value is None or isinstance(value, date):
        return value
    return parse_date(value, name)


def _period_returns(rows: list[dict[str, Any]], frequency: str) -> "pd.Series":
    """``monthly_returns`` ([{"month": "YYYY-MM", "return": r}]) or ``yearly_returns``
    ([{"year": "YYYY", ...}]) as a Series by period."""
    import pandas as pd

    key, freq = ("month", "M") if frequency == "monthly" else ("year", "Y")
    index = pd.PeriodIndex([row[key] for row in rows], freq=freq, name=key)
    return pd.Series([row["return"] for row in rows], index=index, name="return", dtype=float)
