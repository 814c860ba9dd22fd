"""The fake TWS against the real ib_async client over TCP: no ib_async object is mocked,
and any decoding error ib_async logs fails the test (``ib_decoder_guard``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterator

import pytest

import ib_async  # noqa: E402

from tests.integration.fake_tws import SERVER_VERSION, FakeTws, LateCommission  # noqa: E402
from tests.integration.fake_tws.fixtures import (  # noqa: E402
    DecoderErrorCollector,
)

ACCOUNT = "DU1234567"


def connect(server: FakeTws, client_id: int = 11) -> "ib_async.IB":
    ib = ib_async.IB()
    ib.RaiseRequestErrors = True
    ib.RequestTimeout = 2
    ib.connect(server.host, server.port, clientId=client_id, timeout=2, raiseSyncErrors=True)
    return ib


@pytest.fixture
def ib(fake_tws: FakeTws) -> Iterator["ib_async.IB"]:
    client = connect(fake_tws)
    yield client
    client.disconnect()


def iukd() -> "ib_async.Contract":
    return ib_async.Stock("IUKD", "SMART", "GBP", primaryExchange="LSEETF")


def buy(quantity: float, ref: str, order_type: str = "MKT", limit: float | None = None) -> "ib_async.Order":
    order = ib_async.Order(action="BUY", totalQuantity=quantity, orderType=order_type, orderRef=ref, account=ACCOUNT, tif="DAY")
    if limit is not None:
        order.lmtPrice = limit
    return order


def test_handshake_negotiates_the_pinned_version_and_syncs(ib, fake_tws):
    assert ib.client.serverVersion() == SERVER_VERSION == 178
    assert ib.managedAccounts() == [ACCOUNT]
    assert fake_tws.connected_client_ids() == [11]
    startup = {int(f[0]) for f in fake_tws.received}
    assert {71, 61, 5, 99, 6, 76, 7} <= startup  # startApi, positions, orders, account, executions


def test_client_offering_only_older_versions_is_refused(fake_tws):
    ib = ib_async.IB()
    ib.client.MaxClientVersion = 176
    with pytest.raises((ConnectionError, TimeoutError)):
        ib.connect(fake_tws.host, fake_tws.port, clientId=3, timeout=0.5)


def test_duplicate_client_id_is_refused_like_tws(ib, fake_tws):
    second = ib_async.IB()
    with pytest.raises((ConnectionError, TimeoutError)):
        second.connect(fake_tws.host, fake_tws.port, clientId=11, timeout=0.5)
    assert fake_tws.connected_client_ids() == [11]


def test_contract_details_carry_order_types_and_qualify(ib):
    [details] = ib.reqContractDetails(iukd())
    assert "MOC" in details.orderTypes.split(",")
    assert details.contract.primaryExchange == "LSEETF"
    [contract] = ib.qualifyContracts(iukd())
    assert contract.conId == 128_000_001


def test_unknown_contract_is_error_200(ib):
    with pytest.raises(ib_async.RequestError) as caught:
        ib.reqContractDetails(ib_async.Stock("NOPE", "SMART", "GBP"))
    assert caught.value.code == 200


def test_account_summary_and_values_in_base_currency(ib):
    summary = {(v.tag, v.currency): v.value for v in ib.accountSummary(ACCOUNT)}
    assert summary[("NetLiquidation", "GBP")] == "100000"
    assert summary[("TotalCashValue", "GBP")] == "100000"
    values = {(v.tag, v.currency) for v in ib.accountValues(ACCOUNT)}
    assert ("NetLiquidation", "GBP") in values


def test_market_order_fills_with_execution_and_commission(ib, fake_tws):
    [contract] = ib.qualifyContracts(iukd())
    trade = ib.placeOrder(contract, buy(3, "plan-1/IUKD"))
    ib.sleep(0.15)
    assert trade.orderStatus.status == "Filled"
    [fill] = trade.fills
    assert fill.execution.side == "BOT" and fill.execution.orderRef == "plan-1/IUKD"
    assert fill.execution.execId.endswith(".01.01")
    assert fill.commissionReport.commission == 3.0 and fill.commissionReport.currency == "GBP"
    assert [p.position for p in ib.positions(ACCOUNT)] == [3.0]
    assert fake_tws.orders("plan-1/IUKD")[0].status == "Filled"


def test_moc_waits_in_presubmitted_until_the_close(ib, fake_tws):
    [contract] = ib.qualifyContracts(iukd())
    trade = ib.placeOrder(contract, buy(2, "plan-1/MOC", "MOC"))
    ib.sleep(0.1)
    assert trade.orderStatus.status == "PreSubmitted"
    assert fake_tws.close_auction() == 1
    ib.sleep(0.1)
    assert trade.orderStatus.status == "Filled"
    assert trade.fills[0].execution.price == 8.15


def test_ib_async_quirks_the_adapter_must_handle(ib, fake_tws):
    """Pins ib_async 2.1.0 behaviour the adapter relies on: duplicated execDetails are
    collapsed in ib.fills() but not in reqExecutions(); a fill without its commission
    report carries a blank report whose commission reads 0.0."""
    fake_tws.faults.duplicate_exec_details = True
    fake_tws.faults.late_commission = LateCommission(withhold_requests=1)
    [contract] = ib.qualifyContracts(iukd())
    ib.placeOrder(contract, buy(1, "plan-1/Q"))
    ib.sleep(0.15)
    assert len(ib.fills()) == 1
    assert len(ib.reqExecutions()) == 2
    [fill] = ib.fills()
    assert fill.commissionReport.execId == "" and fill.commissionReport.commission == 0.0
    ib.reqExecutions()
    assert fill.commissionReport.execId == fill.execution.execId
    assert fill.commissionReport.commission == 3.0


def test_cancel_and_reject_use_tws_codes(ib, fake_tws):
    from tests.integration.fake_tws import Reject

    [contract] = ib.qualifyContracts(iukd())
    resting = ib.placeOrder(contract, buy(1, "plan-1/LMT", "LMT", limit=1.0))
    ib.sleep(0.05)
    fake_tws.faults.reject = Reject()
    rejected = ib.placeOrder(contract, buy(1, "plan-1/REJ"))
    ib.cancelOrder(resting.order)
    ib.sleep(0.1)
    assert resting.orderStatus.status == "Cancelled"
    assert rejected.orderStatus.status == "Inactive"
    assert [e.errorCode for e in rejected.log if e.errorCode] == [201]


def test_state_survives_a_reconnect(fake_tws):
    ib = connect(fake_tws, client_id=5)
    [contract] = ib.qualifyContracts(iukd())
    ib.placeOrder(contract, buy(4, "plan-9/MOC", "MOC"))
    ib.placeOrder(contract, buy(1, "plan-9/MKT"))
    ib.sleep(0.1)
    ib.disconnect()
    again = connect(fake_tws, client_id=5)
    try:
        open_refs = [t.order.orderRef for t in again.openTrades()]
        assert open_refs == ["plan-9/MOC"]
        assert [f.execution.orderRef for f in again.fills()] == ["plan-9/MKT"]
        completed = [t for t in again.trades() if t.orderStatus.status == "Filled"]
        assert [t.order.orderRef for t in completed] == ["plan-9/MKT"]
        assert completed[0].order.filledQuantity == 1.0
    finally:
        again.disconnect()


def test_execution_correction_increments_the_last_exec_id_component(ib, fake_tws):
    [contract] = ib.qualifyContracts(iukd())
    ib.placeOrder(contract, buy(1, "plan-1/C"))
    ib.sleep(0.1)
    [original] = fake_tws.execution_ids()
    corrected = fake_tws.correct_execution(original, price=Decimal("8.11"))
    assert corrected == original[:-2] + "02"
    ib.sleep(0.05)
    assert {f.execution.execId for f in ib.fills()} == {original, corrected}


def test_the_decoder_guard_sees_a_malformed_message(ib, fake_tws, ib_decoder_guard):
    """Proves the guard used by every test would notice a field-order mistake."""
    import logging

    collector = DecoderErrorCollector()
    logging.getLogger("ib_async").addHandler(collector)
    try:
        fake_tws.inject([61, 3, ACCOUNT, "not-a-conId"])  # a position message cut short
        ib.sleep(0.05)
    finally:
        logging.getLogger("ib_async").removeHandler(collector)
    assert any("Error handling fields" in m for m in collector.decoder_failures())
    ib_decoder_guard.records.clear()  # the failure was intended
