"""The one reader of a user's text files (trackrecord.yaml, the CSV imports, the price
folders): UTF-8 with or without a byte-order mark; anything else one line naming the file,
the line of the bad byte and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackrecord.errors import UserError
from trackrecord.ledger.parsing import read_utf8


def test_utf8_with_a_byte_order_mark_reads_as_text_and_keeps_the_raw_bytes(tmp_path: Path) -> None:
    path = tmp_path / "flows.csv"
    path.write_bytes(b"\xef\xbb\xbfdate,amount\n2026-01-02,caf\xc3\xa9\n")
    text, raw = read_utf8(path, "the CSV")
    assert text == "date,amount\n2026-01-02,café\n" and raw == path.read_bytes()


def test_a_latin1_byte_names_the_file_its_line_and_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "trackrecord.yaml"
    path.write_bytes(b"mode: paper\nnote: caf\xe9\n")
    with pytest.raises(UserError) as refused:
        read_utf8(path, "the configuration")
    assert str(refused.value) == f"{path}:2: not UTF-8 text (byte 0xe9); save the configuration as UTF-8"


def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nowhere.csv: cannot read the CSV: No such file"):
        read_utf8(tmp_path / "nowhere.csv", "the CSV")
