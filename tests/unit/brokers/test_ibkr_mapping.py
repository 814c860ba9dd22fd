"""Properties of the IB -> domain number mapping: whatever a gateway sends, the adapter
either gets a number the ledger accepts or fails naming the field (never stores garbage,
never raises anything but BrokerError)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackrecord.brokers.base import BrokerError
from trackrecord.brokers.ibkr import mapping
from trackrecord.ledger.parsing import number_problem

ANY_IB_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.text(max_size=30),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "sNaN", "1e400", "1e-400", "1.7976931348623157E308", "2147483647"]),
)


@given(ANY_IB_NUMBER)
def test_an_ib_number_is_unset_or_within_the_ledgers_bounds_or_an_error_naming_the_field(value):
    try:
        number = mapping.decimal_or_none(value, "execution 1 price")
    except BrokerError as e:
        assert "execution 1 price" in str(e)
        return
    assert number is None or number_problem(number) is None


@pytest.mark.parametrize("value", [mapping.UNSET_DOUBLE, "1.7976931348623157E308", mapping.UNSET_INTEGER, "", None])
def test_ibs_unset_sentinels_are_no_value(value):
    assert mapping.decimal_or_none(value, "f") is None


@given(quantity=st.integers(min_value=-10**6, max_value=10**6).filter(bool),
       pence=st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2),
       in_pence=st.booleans())
def test_a_pence_position_is_valued_in_pounds_whichever_unit_ib_sends_the_value_in(quantity, pence, in_pence):
    value_in_pence = Decimal(quantity) * pence
    value = value_in_pence if in_pence else value_in_pence / 100
    divisor = mapping.market_value_divisor("SXLK", Decimal(quantity), pence, value, Decimal(100))
    assert value / divisor == value_in_pence / 100


def test_a_value_neither_in_pence_nor_in_pounds_names_the_symbol():
    with pytest.raises(BrokerError, match="IB position SXLK: market value 5000 is not quantity x price"):
        mapping.market_value_divisor("SXLK", Decimal(268), Decimal(12285), Decimal(5000), Decimal(100))
