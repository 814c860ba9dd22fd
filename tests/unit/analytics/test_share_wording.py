"""A provenance share never reads 0% of something the record holds, nor 100% of a part."""

from __future__ import annotations

import pytest

from trackrecord.analytics.wording import live_caveats, provenance_line, share_text


@pytest.mark.parametrize("share, text", [
    (0.0, "0%"), (0.0026, "<1%"), (0.005, "<1%"), (0.006, "1%"), (0.5, "50%"), (0.994, "99%"),
    (0.996, ">99%"), (0.9974, ">99%"), (1.0, "100%"),
])
def test_share_text(share: float, text: str) -> None:
    assert share_text(share) == text


def test_two_imported_snapshots_in_765_are_not_none() -> None:
    shares = {"broker": 763 / 765, "imported": 2 / 765, "simulated": 0.0}
    assert provenance_line(shares, "snapshots") == "Provenance of the snapshots: broker >99%, imported <1%, simulated 0%"
    assert live_caveats(shares, None).startswith("<1% of its snapshots were imported")
