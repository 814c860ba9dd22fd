"""`trackrecord flex fetch` against a local server on loopback that plays IBKR's Flex Web
Service (SendRequest -> reference code, GetStatement polled while "not ready"), including its
error codes. Never the internet."""

from __future__ import annotations

import json
import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.flex_synthetic import ledger_events, statement_from_events

TOKEN = "1234567890123456789012"
QUERY = "654321"


def _reply(status: str, **fields: str) -> bytes:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return (f'<FlexStatementResponse timestamp="01 December, 2026 09:00 AM EST"><Status>{status}</Status>{inner}'
            "</FlexStatementResponse>").encode()


def not_ready(code: str = "1019", text: str = "Statement generation in progress. Please try again shortly.") -> bytes:
    return _reply("Warn", ErrorCode=code, ErrorMessage=text)


class FlexWebService:
    """Plays the service: each step answers from its script (the last answer repeats)."""

    def __init__(self) -> None:
        self.send: list[bytes] = []
        self.get: list[bytes] = []
        self.requests: list[tuple[str, dict[str, str], str]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                service.requests.append((parts.path, query, self.headers.get("User-Agent", "")))
                body = service.answer(parts.path, query, self.headers.get("User-Agent", ""))
                self.send_response(200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/AccountManagement/FlexWebService"

    def answer(self, path: str, query: dict[str, str], agent: str) -> bytes:
        if not agent:
            return _reply("Fail", ErrorCode="1020", ErrorMessage="Invalid request or unable to validate request.")
        if query.get("t") != TOKEN:
            return _reply("Fail", ErrorCode="1015", ErrorMessage="Token is invalid.")
        if query.get("v") != "3":
            return _reply("Fail", ErrorCode="1020", ErrorMessage="Invalid request or unable to validate request.")
        script = self.send if path.endswith("/SendRequest") else self.get
        return script.pop(0) if len(script) > 1 else script[0]

    def success(self) -> bytes:
        return _reply("Success", ReferenceCode="8812345678", Url=f"{self.base}/GetStatement")


@pytest.fixture
def service() -> Iterator[FlexWebService]:
    played = FlexWebService()
    thread = threading.Thread(target=played.server.serve_forever, daemon=True)
    thread.start()
    yield played
    played.server.shutdown()
    played.server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def replay_record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from trackrecord.cli.app import run

    root = tmp_path_factory.mktemp("replay") / "demo"
    assert run(["demo", str(root), "--years", "1", "--seed", "5"]) == 0
    return root


@pytest.fixture
def home(replay_record: Path, tmp_path: Path, service: FlexWebService, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "ws"
    shutil.copytree(replay_record, copy)
    configure(copy, query_id=QUERY, base_url=service.base, retry_seconds="0.01", max_attempts="4")
    monkeypatch.setenv("TRACKRECORD_FLEX_TOKEN", TOKEN)
    return copy


def configure(root: Path, **values: str | None) -> None:
    path = root / "trackrecord.yaml"
    text = path.read_text()
    flex = text.index("\nflex:")
    head, section = text[:flex], text[flex:]
    for key, value in values.items():
        shown = "null" if value is None else json.dumps(value)
        section = re.sub(rf"^  {key}: [^#\n]*", f"  {key}: {shown}  ", section, count=1, flags=re.MULTILINE)
    path.write_text(head + section)


def _events(cli, home: Path) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(cli("--home", home, "ledger", "log", "--json").out))


def test_fetch_polls_while_not_ready_then_reconciles_the_statement(cli, home: Path,
                                                                  service: FlexWebService) -> None:
    statement = statement_from_events(ledger_events(cli, home)).render()
    service.send = [service.success()]
    service.get = [not_ready(), not_ready("1004", "Statement is incomplete at this time."), statement]
    result = cli("--home", home, "flex", "fetch", "--json")
    assert result.code == 0, result
    document = json.loads(result.out)
    assert document["ok"] and document["fetch"]["requests"] == 4 and document["fetch"]["reference_code"] == "8812345678"
    assert (home / document["statement"]["file"]).read_bytes() == statement
    paths = [path.rsplit("/", 1)[1] for path, _, _ in service.requests]
    assert paths == ["SendRequest", "GetStatement", "GetStatement", "GetStatement"]
    assert service.requests[0][1] == {"t": TOKEN, "q": QUERY, "v": "3"}
    assert all(query["q"] == "8812345678" for _, query, _ in service.requests[1:])
    assert all(agent.startswith("trackrecord/") and "Python/" in agent for _, _, agent in service.requests)
    done = json.loads(cli("--home", home, "ledger", "log", "--kind", "reconciliation.done", "--json").out)
    assert done[-1]["payload"]["statement"]["sha256"] == document["statement"]["sha256"]


def test_too_many_requests_waits_and_asks_again(cli, home: Path, service: FlexWebService) -> None:
    service.send = [not_ready("1018", "Too many requests have been made from this token."), service.success()]
    service.get = [statement_from_events(ledger_events(cli, home)).render()]
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 0, result
    assert "downloaded Flex query 654321 (reference 8812345678, 3 request(s)" in result.out
    assert "0 breaks" in result.out


def test_an_expired_token_is_a_user_error_that_never_shows_the_token(cli, home: Path,
                                                                    service: FlexWebService) -> None:
    service.send = [_reply("Fail", ErrorCode="1012", ErrorMessage="Token has expired.")]
    before = _events(cli, home)
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 2 and "error 1012: Token has expired." in result.err and "generate a new one" in result.err
    assert TOKEN not in result.err + result.out
    assert _events(cli, home) == before and not (home / "statements").exists()


def test_a_statement_never_ready_gives_up_after_max_attempts(cli, home: Path, service: FlexWebService) -> None:
    service.send = [service.success()]
    service.get = [not_ready()]
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 1 and "still not ready after 4 attempts" in result.err
    assert len(service.requests) == 5 and TOKEN not in result.err


def test_a_wrong_token_and_a_missing_one_are_refused(cli, home: Path, service: FlexWebService,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    service.send = [service.success()]
    monkeypatch.setenv("TRACKRECORD_FLEX_TOKEN", "not-the-token")
    wrong = cli("--home", home, "flex", "fetch")
    assert wrong.code == 2 and "error 1015" in wrong.err and "not-the-token" not in wrong.err
    monkeypatch.delenv("TRACKRECORD_FLEX_TOKEN")
    missing = cli("--home", home, "flex", "fetch")
    assert missing.code == 2 and "TRACKRECORD_FLEX_TOKEN is not set" in missing.err
    assert len(service.requests) == 1, "no request without a token"


def test_no_query_id_is_refused_before_any_request(cli, home: Path, service: FlexWebService) -> None:
    configure(home, query_id=None)
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 2 and "flex.query_id is not set" in result.err and service.requests == []


def test_a_service_that_cannot_be_reached_is_a_run_time_failure(cli, home: Path, service: FlexWebService) -> None:
    service.server.shutdown()
    service.server.server_close()
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 1 and "cannot reach the IBKR Flex Web Service" in result.err and TOKEN not in result.err


def test_a_fetched_statement_of_another_account_is_kept_and_refused(cli, home: Path, service: FlexWebService,
                                                                  shared_data: Path) -> None:
    real = (shared_data / "flex" / "opensteuerauszug_vtandchill_2025.xml").read_bytes()
    service.send = [service.success()]
    service.get = [real]
    before = _events(cli, home)
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 2 and "account U12349876, which this ledger does not know" in result.err
    kept = re.search(r"kept as (statements/\S+\.xml)", result.err)
    assert kept and (home / kept.group(1)).read_bytes() == real
    assert _events(cli, home) == before


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("query_id", "abc", "key 'flex.query_id': expected the Flex query id"),
    ("base_url", "http://example.com/Flex", "key 'flex.base_url': expected an https:// URL"),
    ("retry_seconds", "-1", "key 'flex.retry_seconds'"),
])
def test_flex_settings_are_validated(cli, home: Path, key: str, value: str, expected: str) -> None:
    configure(home, **{key: value})
    result = cli("--home", home, "config", "check")
    assert result.code == 2 and expected in result.err, result


def test_the_wait_starts_at_retry_seconds_and_doubles_up_to_a_minute(service: FlexWebService) -> None:
    from trackrecord.reconcile.fetch import FlexService, fetch_statement

    service.send = [not_ready("1018", "Too many requests."), service.success()]
    service.get = [not_ready()] * 6 + [b'<FlexQueryResponse queryName="q" type="AF"/>']
    waits: list[float] = []
    fetched = fetch_statement(TOKEN, QUERY, FlexService.of(service.base, 10, 8, 5, "0.1.0"), waits.append)
    assert fetched.data.startswith(b"<FlexQueryResponse")
    assert waits == [20, 20, 40, 60, 60, 60, 60], "1018 waits twice the current wait; every wait doubles the next, up to 60 s"
    assert fetched.requests == 9 and fetched.waited_seconds == sum(waits)


@pytest.mark.parametrize("answer", [b"<html><body>Service unavailable</body></html>", b"",
                                    b'<?xml version="1.0" encoding="bogus"?><FlexStatementResponse/>', b"\xff\xfe<"])
def test_an_answer_that_is_not_the_service_s_is_a_run_time_failure(cli, home: Path, service: FlexWebService,
                                                                    answer: bytes) -> None:
    service.send = [answer]
    result = cli("--home", home, "flex", "fetch")
    assert result.code == 1 and "neither a statement nor a FlexStatementResponse" in result.err, result
    assert "Traceback" not in result.err and TOKEN not in result.err
