"""Dashboard security: with a token every route (static files included) needs it; the login
form sets an HttpOnly SameSite=Strict cookie and slows down failures; the kill-switch
activation needs CSRF, same origin and the typed word, and records what the CLI records."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.dashboard_support import TOKEN, open_app, shared_demo

pytest.importorskip("fastapi")

SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_demo()


@pytest.fixture
def app(demo: Path) -> Iterator[Any]:
    with open_app(demo, TOKEN, login_delay=0.2) as built:
        yield built


@pytest.fixture
def http(app: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    with TestClient(app, base_url="http://127.0.0.1:5050", follow_redirects=False) as client:
        yield client


def concrete_paths(app: Any) -> list[tuple[str, str]]:
    """(method, path) of every route the app has, its parameters filled in."""
    from starlette.routing import Mount

    out = []
    for route in app.routes:
        if isinstance(route, Mount):
            out.append(("GET", route.path + "/app.css"))
            continue
        path = route.path.replace("{path:path}", "monthly/x.pdf")
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, path))
    return out


def events(cli: Any, root: Path) -> list[dict[str, Any]]:
    result = cli("--home", root, "ledger", "log", "--json")
    assert result.code == 0, result
    return json.loads(result.out)


def login(http: Any) -> str:
    response = http.post("/login", data={"token": TOKEN, "next": "/"})
    assert response.status_code == 303
    return response.cookies["trackrecord_session"]


def test_every_route_without_the_token_is_refused(app: Any, http: Any) -> None:
    routes = concrete_paths(app)
    assert len(routes) > 20 and ("GET", "/static/app.css") in routes
    for method, path in routes:
        if path == "/login":
            continue
        response = http.request(method, path)
        if path.startswith("/api/") or path == "/healthz":
            assert response.status_code == 401, (method, path)
            assert response.headers["www-authenticate"] == "Bearer"
        else:
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next="), (method, path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)


def test_a_wrong_token_is_refused_and_the_right_one_opens_the_api(app: Any, http: Any) -> None:
    for header in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", TOKEN, f"Basic {TOKEN}", "Bearer "):
        assert http.get("/api/v1/summary", headers={"authorization": header}).status_code == 401, header
    response = http.get("/api/v1/summary", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.json()["label"] == "SIMULATED"
    assert http.get("/api/v1/openapi.json", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_login_sets_an_httponly_strict_cookie_and_failures_are_slowed(http: Any) -> None:
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        response = http.post("/login", data={"token": "wrong-token-wrong-token", "next": "/"})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 401 and "Wrong token" in response.text
        assert "set-cookie" not in response.headers
    assert timings[0] >= 0.2 and timings[1] >= 0.4, timings
    response = http.post("/login", data={"token": TOKEN, "next": "/performance"})
    assert response.status_code == 303 and response.headers["location"] == "/performance"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert TOKEN.lower() not in cookie, "the cookie holds a derived value, never the token"
    assert http.get("/performance").status_code == 200
    assert http.get("/static/app.css").status_code == 200


def test_login_never_redirects_off_site(http: Any) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = http.post("/login", data={"token": TOKEN, "next": target})
        assert response.headers["location"] == "/", target


def test_no_page_or_document_shows_the_token_or_the_private_key(http: Any, demo: Path) -> None:
    login(http)
    private = (demo / "keys" / "ledger.ed25519").read_text().strip().splitlines()
    secret_lines = [line for line in private if len(line) > 20 and "PRIVATE" not in line]
    for path in ("/", "/performance", "/signals", "/orders", "/reports", "/ledger", "/annotations", "/ledger?verify=true",
                 "/api/v1/summary", "/api/v1/ledger", "/api/v1/ledger/events?limit=500", "/healthz"):
        body = http.get(path).text
        assert TOKEN not in body, path
        assert not any(line in body for line in secret_lines), path


def csrf_of(http: Any) -> str:
    response = http.get("/")
    page = response.text
    marker = 'name="csrf" value="'
    assert marker in page, (response.status_code, response.headers, page[-3000:])
    return page[page.index(marker) + len(marker):].split('"', 1)[0]


def test_kill_switch_activation_needs_csrf_same_origin_and_the_typed_word(http: Any, cli: Any, demo: Path) -> None:
    login(http)
    csrf = csrf_of(http)
    same = {"sec-fetch-site": "same-origin"}
    before = len(events(cli, demo))
    refused = [
        ({"reason": "x", "confirm": "HALT"}, same, 403),  # no CSRF token
        ({"reason": "x", "confirm": "HALT", "csrf": csrf[:-1] + ("1" if csrf.endswith("0") else "0")}, same, 403),  # a wrong one
        ({"reason": "x", "confirm": "HALT", "csrf": csrf}, {"sec-fetch-site": "cross-site"}, 403),
        ({"reason": "x", "confirm": "HALT", "csrf": csrf}, {"origin": "https://evil.example"}, 403),
        ({"reason": "x", "confirm": "HALT", "csrf": csrf}, {}, 403),  # no origin information at all
        ({"reason": "x", "confirm": "halt please", "csrf": csrf}, same, 400),
        ({"reason": " ", "confirm": "HALT", "csrf": csrf}, same, 400),
    ]
    for form, headers, status in refused:
        response = http.post("/kill-switch/activate", data=form, headers=headers)
        assert response.status_code == status, (form, headers, response.text)
    assert len(events(cli, demo)) == before, "a refused activation writes nothing"
    http.cookies.clear()
    response = http.post("/kill-switch/activate", data={"reason": "x", "confirm": "HALT", "csrf": csrf}, headers=same)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert len(events(cli, demo)) == before, "without the session nothing is written"


def test_kill_switch_activation_is_recorded_as_the_cli_records_it(http: Any, cli: Any, demo: Path) -> None:
    login(http)
    before = events(cli, demo)
    response = http.post("/kill-switch/activate", headers={"sec-fetch-site": "same-origin"},
                         data={"reason": "from the dashboard", "confirm": "HALT", "csrf": csrf_of(http)})
    assert response.status_code == 303 and "HALTED" in response.headers["location"]
    status = json.loads(cli("--home", demo, "kill-switch", "status", "--json").out)
    try:
        assert status["state"] == "HALTED" and status["reason"] == "from the dashboard"
        added = events(cli, demo)[len(before):]
        assert [e["kind"] for e in added] == ["kill_switch.changed", "checkpoint.signed"]
        assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0
        assert cli("--home", demo, "kill-switch", "activate", "from the cli").code == 0
        by_cli = events(cli, demo)[-2:]
        assert [e["kind"] for e in by_cli] == ["kill_switch.changed", "checkpoint.signed"]
        assert set(by_cli[0]["payload"]) == set(added[0]["payload"])
        assert {k: v for k, v in added[0]["payload"].items() if k != "reason"} == \
            {k: v for k, v in by_cli[0]["payload"].items() if k != "reason"}
        assert cli("--home", demo, "verify").code == 0
    finally:
        assert cli("--home", demo, "kill-switch", "deactivate", "--yes").code == 0
