"""A workspace whose database is gone (deleted, a backup restored without it, a wrong
``database.url``) is refused by every command, exit 2, one line, and the database is not
made again. It used to be created afresh: `verify` said "ledger OK: 0 events", and the
next `cashflow add` or scheduled close began a new chain signed with the same key, a
second record under the first one's name."""

from __future__ import annotations

from pathlib import Path

import pytest

COMMANDS = [("verify",), ("stats",), ("cashflow", "add", "--date", "2026-11-30", "--amount", "5"),
            ("daily",), ("ledger", "checkpoint"), ("kill-switch", "activate", "why"), ("kill-switch", "status")]


@pytest.fixture
def funded(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    assert cli("--home", root, "cashflow", "add", "--date", "2026-11-27", "--amount", "100000").code == 0
    return root


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a[:2]) for a in COMMANDS])
def test_a_deleted_database_is_refused_not_made_again(cli, funded: Path, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    for path in funded.glob("trackrecord.db*"):
        path.unlink()

    refused = cli("--home", funded, *args)

    assert refused.code == 2 and refused.err.count("\n") == 1, refused
    assert refused.err.startswith(f"error: the database {funded / 'trackrecord.db'} is missing: ")
    assert "restore the database from a backup" in refused.err
    assert not (funded / "trackrecord.db").exists()


def test_an_emptied_database_is_refused_as_holding_no_ledger(cli, funded: Path) -> None:  # type: ignore[no-untyped-def]
    for path in funded.glob("trackrecord.db*"):
        path.unlink()
    (funded / "trackrecord.db").write_bytes(b"")

    for args in (("verify",), ("cashflow", "add", "--date", "2026-11-30", "--amount", "5")):
        refused = cli("--home", funded, *args)
        assert refused.code == 2 and "holds no ledger" in refused.err and refused.err.count("\n") == 1, refused


def test_a_missing_signing_key_is_one_line_from_ledger_checkpoint(cli, funded: Path) -> None:  # type: ignore[no-untyped-def]
    (funded / "keys" / "ledger.ed25519").unlink()

    refused = cli("--home", funded, "ledger", "checkpoint")

    assert refused.code == 2 and "Traceback" not in refused.err, refused
    assert "error: cannot sign the checkpoint: cannot read the signing key" in refused.err
