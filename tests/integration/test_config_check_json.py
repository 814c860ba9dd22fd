"""`config check --json`: one document with ok, every error and every warning, each naming the
file, line, key, value and what was expected; exit 0 when valid, 2 when not, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _edit(root: Path, *pairs: tuple[str, str]) -> Path:
    config = root / "trackrecord.yaml"
    text = config.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    return config


def _line_of(config: Path, fragment: str) -> int:
    return next(n for n, line in enumerate(config.read_text().splitlines(), 1) if fragment in line)


def _checked(cli, root: Path, code: int) -> dict:  # type: ignore[no-untyped-def]
    result = cli("--home", root, "config", "check", "--json")
    assert result.code == code, result
    assert "Traceback" not in result.out + result.err
    return json.loads(result.out)


def test_config_check_json_of_a_valid_file_is_ok_with_no_errors(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    document = _checked(cli, workspace, 0)
    assert document == {"ok": True, "file": str(workspace / "trackrecord.yaml"), "mode": "dry_run",
                        "instruments": 9, "errors": [], "warnings": []}


def test_config_check_json_lists_every_error_with_its_line_key_value_and_expectation(
        workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = _edit(workspace, ("max_daily_move: 0.25", "max_daily_move: .nan"),
                   ("top_n: 3", "top_n: 0\n  top_nn: 2"))
    logs_before = sorted(p.name for p in (workspace / "logs").iterdir()) if (workspace / "logs").is_dir() else []
    document = _checked(cli, workspace, 2)
    assert document["ok"] is False and document["mode"] is None and document["warnings"] == []
    by_key = {e["key"]: e for e in document["errors"]}
    assert set(by_key) == {"prices.max_daily_move", "strategy.top_n", "strategy.top_nn"}
    assert by_key["prices.max_daily_move"]["value"] == "nan"  # JSON has no NaN: shown as text
    assert "finite" in by_key["prices.max_daily_move"]["expected"]
    assert by_key["strategy.top_n"]["value"] == 0 and "greater than or equal to 1" in by_key["strategy.top_n"]["expected"]
    assert by_key["strategy.top_nn"]["value"] == 2 and "no such key" in by_key["strategy.top_nn"]["expected"]
    assert by_key["strategy.top_n"]["line"] == _line_of(config, "top_n: 0")
    assert by_key["strategy.top_nn"]["line"] == _line_of(config, "top_nn: 2")
    assert all(e["file"] == str(config) for e in document["errors"])
    # the text form still prints the first one as the single line every command prints
    text = cli("--home", workspace, "config", "check")
    assert text.code == 2 and text.err.count("\n") == 1 and "(and 2 more problems)" in text.err, text
    assert text.err == f"error: {document['errors'][0]['message']} (and 2 more problems)\n"
    after = sorted(p.name for p in (workspace / "logs").iterdir()) if (workspace / "logs").is_dir() else []
    assert after == logs_before  # a check writes nothing


def test_config_check_json_names_the_key_of_a_cross_field_rule(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = _edit(workspace, ("max_position_weight: 0.35", "max_position_weight: 0.2"))
    (error,) = _checked(cli, workspace, 2)["errors"]
    assert error["key"] == "risk.max_position_weight" and error["value"] == 0.2
    assert error["line"] == _line_of(config, "max_position_weight: 0.2") and "1/3" in error["expected"]


def test_config_check_json_never_shows_a_database_password(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    _edit(workspace, ("url: null", 'url: "mongodb://trader:s3cret@db.example/track"'))
    result = cli("--home", workspace, "config", "check", "--json")
    assert result.code == 2 and "s3cret" not in result.out + result.err
    (error,) = json.loads(result.out)["errors"]
    assert error["key"] == "database.url" and error["value"] == "***" and "mongodb" in error["expected"]


def test_config_check_json_reports_malformed_yaml_and_binary_files_with_their_line(
        workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = _edit(workspace, ('mode: "dry_run"', 'mode: "dry_run"\nmode: "live"'))
    (error,) = _checked(cli, workspace, 2)["errors"]
    assert error["key"] is None and error["line"] == _line_of(config, 'mode: "live"')
    assert "'mode' appears twice" in error["expected"]
    config.write_bytes(b'mode: "caf\xe9"\n')
    (error,) = _checked(cli, workspace, 2)["errors"]
    assert error["line"] == 1 and "UTF-8" in error["expected"]


def test_config_check_warns_about_valid_settings_that_quietly_do_less(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = _edit(workspace, ('mode: "dry_run"', 'mode: "live"'),
                   ('jobs: ["rebalance"', 'jobs: ["flex", "rebalance"'),
                   ("webhooks: []", 'webhooks: [{url: "https://hooks.slack.com/services/T0/B0/secret", format: slack}]'))
    document = _checked(cli, workspace, 0)
    assert document["ok"] is True and document["errors"] == []
    by_key = {w["key"]: w for w in document["warnings"]}
    assert set(by_key) == {"account.account_id", "flex.query_id", "notifications.webhooks[0].url"}
    assert by_key["account.account_id"]["line"] == _line_of(config, "account_id: null")
    assert by_key["notifications.webhooks[0].url"]["value"] == "***"
    text = cli("--home", workspace, "config", "check")
    assert text.code == 0 and text.err.count("warning: ") == 3 and "hooks.slack.com" not in text.out + text.err


def test_a_close_job_sooner_than_yahoo_settles_is_warned_about(workspace: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = _edit(workspace, ("close_minutes_after_close: 30", "close_minutes_after_close: 10"))
    (warning,) = _checked(cli, workspace, 0)["warnings"]
    assert (warning["key"], warning["value"], warning["line"]) == (
        "scheduler.close_minutes_after_close", 10, _line_of(config, "close_minutes_after_close: 10"))
    assert "no sooner than 15 minutes after its close" in warning["message"], warning
    config.write_text(config.read_text().replace('source: "yahoo"', 'source: "synthetic"'))
    assert _checked(cli, workspace, 0)["warnings"] == []  # only Yahoo's closes settle after the bell


CORPUS = sorted((Path(__file__).resolve().parents[1] / "fuzz" / "corpus" / "yaml").iterdir())


@pytest.mark.parametrize("sample", CORPUS, ids=[p.name for p in CORPUS])
def test_config_check_json_answers_every_corpus_file_with_one_document(workspace: Path, cli,
                                                                       sample: Path) -> None:  # type: ignore[no-untyped-def]
    (workspace / "trackrecord.yaml").write_bytes(sample.read_bytes())
    result = cli("--home", workspace, "config", "check", "--json")
    assert "Traceback" not in result.out + result.err and result.err == ""
    document = json.loads(result.out)
    assert result.code == (0 if document["ok"] else 2) and document["ok"] == sample.name.startswith("ok-")
    assert all(e["file"] == str(workspace / "trackrecord.yaml") and e["expected"] for e in document["errors"])


def test_a_negative_synthetic_seed_is_refused_by_name_not_by_numpy(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """numpy's seed is non-negative: a negative one was a ValueError traceback from `prices
    update` and from `demo --seed -1`, which had already laid out half a workspace."""
    root = tmp_path / "ws"
    assert cli("init", root, "--prices", "synthetic").code == 0
    _edit(root, ("synthetic_seed: 7", "synthetic_seed: -3"))
    update = cli("--home", root, "prices", "update")
    assert update.code == 2 and update.err.count("\n") == 1, update
    assert "'prices.synthetic_seed'" in update.err and "greater than or equal to 0" in update.err
    demo = cli("demo", tmp_path / "demo", "--years", "1", "--seed", "-1")
    assert demo.code == 2 and "--seed" in demo.err and not (tmp_path / "demo").exists(), demo
