"""Test helper: a paper or replay record exported as a synthetic IBKR Activity Flex statement.

Built from ``ledger log --json`` (what a user sees), not from our own parser's types, so a
reconciliation of the export checks the comparison end to end. The statement is a model of
plain attribute dicts: a test plants a break by editing it, then renders it. ``render`` derives
the statement's own totals (CashReport, ChangeInNAV) from the rows, so a planted break is one
break and the totals still add up. Dates come in the formats real statements use (yyyyMMdd,
yyyy-MM-dd, ``;HHmmss``, ``;HH:mm:ss``, bare dates) and the traps are there: SUMMARY and DETAIL
cash rows, SUMMARY and LOT positions, a dividend and its withholding tax.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import quoteattr


@dataclass
class SyntheticStatement:
    account_id: str
    base_currency: str
    from_date: date
    to_date: date
    trades: list[dict[str, str]] = field(default_factory=list)
    cash: list[dict[str, str]] = field(default_factory=list)
    navs: list[dict[str, str]] = field(default_factory=list)
    positions: list[dict[str, str]] = field(default_factory=list)

    def deposits(self) -> list[dict[str, str]]:
        return [row for row in self.cash if row["type"] == "Deposits/Withdrawals" and row["levelOfDetail"] == "DETAIL"]

    def remove_flow(self, row: dict[str, str]) -> None:
        """Remove a DETAIL flow and its SUMMARY twin."""
        self.cash = [r for r in self.cash if not (r["type"] == row["type"] and r["amount"] == row["amount"]
                                                   and r["reportDate"] == row["reportDate"])]

    def add_flow(self, day: date, amount: Decimal, transaction_id: str) -> None:
        for level in ("SUMMARY", "DETAIL"):
            self.cash.append(_cash_row(self.account_id, self.base_currency, day, amount, "Deposits/Withdrawals",
                                       level, transaction_id if level == "DETAIL" else "",
                                       "CASH RECEIPTS / ELECTRONIC FUND TRANSFERS"))

    def render(self) -> bytes:
        flows = sum((Decimal(r["amount"]) for r in self.deposits()), Decimal(0))
        commissions = sum((Decimal(t["ibCommission"]) for t in self.trades), Decimal(0))
        income = sum((Decimal(r["amount"]) for r in self.cash
                      if r["type"] != "Deposits/Withdrawals" and r["levelOfDetail"] == "DETAIL"), Decimal(0))
        ending = Decimal(self.navs[-1]["total"]) if self.navs else Decimal(0)
        mtm = ending - flows - commissions - income
        change = {"accountId": self.account_id, "fromDate": f"{self.from_date:%Y%m%d}",
                  "toDate": f"{self.to_date:%Y%m%d}", "startingValue": "0", "mtm": str(mtm),
                  "depositsWithdrawals": str(flows), "commissions": str(commissions), "dividends": str(income),
                  "endingValue": str(ending), "twr": "0"}
        report = {"accountId": self.account_id, "currency": "BASE_SUMMARY", "levelOfDetail": "BaseCurrency",
                  "depositWithdrawals": str(flows), "deposits": str(sum((Decimal(r["amount"]) for r in self.deposits()
                                                                          if Decimal(r["amount"]) > 0), Decimal(0))),
                  "withdrawals": str(sum((Decimal(r["amount"]) for r in self.deposits() if Decimal(r["amount"]) < 0),
                                         Decimal(0)))}
        header = {"accountId": self.account_id, "fromDate": f"{self.from_date:%Y%m%d}",
                  "toDate": f"{self.to_date:%Y%m%d}", "period": "", "whenGenerated": f"{self.to_date:%Y%m%d};203000"}
        parts = ['<?xml version="1.0" encoding="UTF-8"?>',
                 '<FlexQueryResponse queryName="trackrecord synthetic" type="AF">', '<FlexStatements count="1">',
                 f"<FlexStatement {_attrs(header)}>",
                 f'<AccountInformation {_attrs({"accountId": self.account_id, "currency": self.base_currency})} />',
                 f"<ChangeInNAV {_attrs(change)} />",
                 _section("EquitySummaryInBase", "EquitySummaryByReportDateInBase", self.navs),
                 _section("CashReport", "CashReportCurrency", [report]),
                 _section("OpenPositions", "OpenPosition", self.positions),
                 _section("Trades", "Trade", self.trades),
                 _section("CashTransactions", "CashTransaction", self.cash),
                 "</FlexStatement>", "</FlexStatements>", "</FlexQueryResponse>"]
        return ("\n".join(parts) + "\n").encode()


def _attrs(values: dict[str, str]) -> str:
    return " ".join(f"{key}={quoteattr(value)}" for key, value in values.items())


def _section(name: str, tag: str, rows: list[dict[str, str]]) -> str:
    if not rows:
        return f"<{name} />"
    return "\n".join([f"<{name}>", *(f"<{tag} {_attrs(row)} />" for row in rows), f"</{name}>"])


def _cash_row(account: str, currency: str, day: date, amount: Decimal, kind: str, level: str, transaction_id: str,
              description: str) -> dict[str, str]:
    when = f"{day:%Y-%m-%d}" if level == "SUMMARY" else f"{day:%Y-%m-%d};10:15:00"
    return {"accountId": account, "currency": currency, "fxRateToBase": "1", "dateTime": when,
            "settleDate": f"{day:%Y-%m-%d}", "reportDate": f"{day:%Y-%m-%d}", "amount": str(amount), "type": kind,
            "transactionID": transaction_id, "levelOfDetail": level, "description": description}


def statement_from_events(events: list[dict[str, Any]], base_currency: str = "GBP") -> SyntheticStatement:
    """The statement IB would send for the record in ``events`` (``ledger log --json``)."""
    fills = _current_fills(events)
    snapshots: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["kind"] == "snapshot.recorded":
            snapshots[event["payload"]["session_date"]] = event["payload"]
    days = sorted(snapshots)
    account = snapshots[days[-1]]["account_id"]
    statement = SyntheticStatement(account, base_currency, date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
    for number, fill in enumerate(fills, start=1):
        executed = datetime.fromisoformat(fill["executed_at"].replace("Z", "+00:00"))
        quantity = Decimal(fill["quantity"]) * (-1 if fill["side"] == "SELL" else 1)
        statement.trades.append({
            "accountId": account, "currency": fill["currency"], "fxRateToBase": "1", "assetCategory": "STK",
            "symbol": fill["symbol"], "conid": str(1000 + sum(map(ord, fill["symbol"]))),
            "tradeID": str(700000 + number), "reportDate": f"{executed:%Y%m%d}",
            "dateTime": f"{executed:%Y%m%d;%H%M%S}", "tradeDate": f"{executed:%Y%m%d}", "transactionType": "ExchTrade",
            "quantity": str(quantity), "tradePrice": fill["price"],
            "ibCommission": str(-Decimal(fill.get("commission") or "0")),
            "ibCommissionCurrency": fill.get("commission_currency") or fill["currency"],
            "buySell": fill["side"], "ibExecID": fill["exec_id"], "orderReference": fill.get("order_ref") or "",
            "levelOfDetail": "EXECUTION", "orderType": fill.get("order_type") or "MOC",
        })
    voided = {int(e["payload"]["seq"]) for e in events if e["kind"] == "cashflow.voided"}
    for event in events:
        if event["kind"] == "cashflow.recorded" and event["seq"] not in voided:
            flow = event["payload"]
            statement.add_flow(date.fromisoformat(flow.get("date_given") or flow["flow_date"]), Decimal(flow["amount"]),
                               f"9{event['seq']:08d}")
    for day in days:
        statement.navs.append({"accountId": account, "reportDate": day, "cash": snapshots[day].get("cash") or "0",
                               "total": snapshots[day]["nav"]})
    last = snapshots[days[-1]]
    for position in last.get("positions") or []:
        row = {"accountId": account, "currency": position.get("currency", base_currency), "assetCategory": "STK",
               "symbol": position["symbol"], "conid": str(1000 + sum(map(ord, position["symbol"]))),
               "reportDate": f"{statement.to_date:%Y%m%d}", "position": position["quantity"],
               "markPrice": position.get("market_price") or "0", "positionValue": position.get("market_value") or "0"}
        statement.positions.append({**row, "levelOfDetail": "SUMMARY"})
        statement.positions.append({**row, "levelOfDetail": "LOT"})
    middle = statement.from_date + (statement.to_date - statement.from_date) / 2
    for amount, kind, text in (("12.34", "Dividends", "SXLU CASH DIVIDEND"), ("-1.85", "Withholding Tax", "SXLU TAX")):
        statement.cash.append(_cash_row(account, base_currency, middle, Decimal(amount), kind, "DETAIL", "", text))
    return statement


def _current_fills(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    fills: dict[str, dict[str, Any]] = {}
    for event in events:
        payload = event["payload"]
        if event["kind"] == "fill.recorded":
            fills[payload["exec_id"]] = dict(payload)
            if payload.get("supersedes"):
                fills.pop(payload["supersedes"], None)
        elif event["kind"] == "commission.recorded" and payload["exec_id"] in fills:
            fills[payload["exec_id"]]["commission"] = payload["commission"]
    return list(fills.values())


def ledger_events(cli: Any, home: Any) -> list[dict[str, Any]]:
    result = cli("--home", home, "ledger", "log", "--json")
    assert result.code == 0, result
    return json.loads(result.out)
