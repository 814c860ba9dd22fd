"""The FastAPI application: pages, the JSON API under ``/api/v1``, ``/healthz``, the login
form and the kill-switch activation (the one write). Built by ``create_app``; FastAPI is
imported by this module, which only ``trackrecord dashboard`` imports.
"""

from __future__ import annotations

import asyncio
import hashlib
import base64
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from trackrecord.dashboard.documents import DashboardDocuments, NotRecorded
from trackrecord.dashboard.pages import STATIC, Links, Renderer
from trackrecord.dashboard.security import ACTIVATION_WORD, SESSION_COOKIE, Guard, is_loopback, same_origin
from trackrecord.engine.kill_switch import activate
from trackrecord.errors import SafetyRefusal, UserError
from trackrecord.ledger.operations import seal
from trackrecord.ledger.parsing import parse_date
from trackrecord.risk.killswitch import KillSwitchRefusal

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from trackrecord.services import Services

API = "/api/v1"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
LOGIN_STYLE = ("body{font:15px/1.5 system-ui,sans-serif;background:#0f172a;color:#e2e8f0;display:flex;"
               "align-items:center;justify-content:center;height:100vh;margin:0}"
               "form{background:#1e293b;padding:2rem 2.5rem;border-radius:12px;min-width:20rem}"
               "input{width:100%;padding:.6rem;margin:.4rem 0 1rem;border-radius:6px;border:1px solid #475569;"
               "background:#0f172a;color:#e2e8f0;box-sizing:border-box}"
               "button{width:100%;padding:.6rem;border:0;border-radius:6px;background:#2563eb;color:white;"
               "font-weight:600}.err{color:#fca5a5}h1{font-size:1.2rem;margin:0 0 1rem}")
_STYLE_HASH = base64.b64encode(hashlib.sha256(LOGIN_STYLE.encode()).digest()).decode()
CSP = ("default-src 'none'; script-src 'self'; style-src 'self' 'sha256-" + _STYLE_HASH + "'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                    "Referrer-Policy": "no-referrer", "Cross-Origin-Opener-Policy": "same-origin"}
OPEN_PATHS = ("/login",)


def _date(text: str | None, name: str) -> date | None:
    return None if not text else parse_date(text, name)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def create_app(services: "Services", guard: Guard, clock: Callable[[], Any]) -> FastAPI:
    """The dashboard of ``services``' workspace. ``guard`` holds the token (None: open on
    loopback only); ``clock`` gives now in UTC."""
    documents = DashboardDocuments(services, clock)
    serve = _Serve(documents, Renderer(documents, Links()))
    app = FastAPI(title="trackrecord dashboard", version="1", docs_url=None, redoc_url=None,
                  openapi_url=f"{API}/openapi.json",
                  description="Read-only JSON documents of the workspace: the same documents as the CLI's --json.")
    app.state.documents = documents
    app.add_middleware(_GuardMiddleware, guard=guard)
    _add_error_handlers(app)
    _add_record_api(app, serve)
    _add_orders_api(app, serve)
    _add_ledger_api(app, serve)
    _add_health(app, documents)
    csrf = guard.csrf_token(guard.session_value() if guard.required else None)
    app.state.warm = _add_overview(app, serve, csrf)
    _add_pages(app, serve)
    _add_login(app, guard)
    _add_kill_switch(app, services, guard)
    _add_static(app)
    return app


class _Serve:
    """How routes answer from the documents' cache, keyed by the ledger's head."""

    def __init__(self, documents: DashboardDocuments, renderer: Renderer) -> None:
        self.documents, self.renderer = documents, renderer

    async def cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """The cached value at the current head (one read of the head, on the event loop),
        else built in a worker thread: a slow build never stalls the cached answers."""
        hit = self.documents.peek(key)
        return hit if hit is not None else await run_in_threadpool(self.documents.cached, key, build)

    async def json(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Response:
        body = self.documents.peek(("json", *key))
        if body is None:
            body = await run_in_threadpool(self.documents.cached_json, key, build)
        return Response(content=body, media_type="application/json")

    async def page(self, name: str, **options: Any) -> HTMLResponse:
        key = ("page", name, *sorted(options.items()))
        return HTMLResponse(await self.cached(key, lambda: self.renderer.render(name, **options)))


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(UserError)
    async def _user_error(request: Request, exc: UserError) -> Any:
        if request.url.path.startswith(API):
            return _error(400, str(exc))
        return HTMLResponse(_error_page(str(exc)), status_code=400)

    @app.exception_handler(NotRecorded)
    async def _not_recorded(request: Request, exc: NotRecorded) -> Any:
        return _error(404, str(exc))


def _add_record_api(app: FastAPI, serve: _Serve) -> None:
    """The record's figures: the overview, stats, chart series, trades and slippage."""
    documents = serve.documents

    @app.get(f"{API}/summary", tags=["api"], summary="The overview: NAV, P&L by period, positions, signal, freshness")
    async def api_summary() -> Response:
        today = documents.today()
        return await serve.json(("summary", today), lambda: documents.summary())

    @app.get(f"{API}/stats", tags=["api"], summary="`trackrecord stats [FROM] [TO] [--benchmark B] --json`")
    async def api_stats(period_from: str | None = Query(None, alias="from", pattern=DATE_PATTERN),
                        period_to: str | None = Query(None, alias="to", pattern=DATE_PATTERN),
                        benchmark: str | None = Query(None, max_length=32)) -> Response:
        start, end = _date(period_from, "from"), _date(period_to, "to")
        return await serve.json(("stats", start, end, benchmark), lambda: documents.stats(start, end, benchmark))

    @app.get(f"{API}/series", tags=["api"], summary="TWR index, benchmark, drawdown and rolling Sharpe")
    async def api_series() -> Response:
        return await serve.json(("series",), documents.chart_series)

    @app.get(f"{API}/trades", tags=["api"], summary="`trackrecord trades --json`")
    async def api_trades() -> Response:
        return await serve.json(("trades",), documents.trades)

    @app.get(f"{API}/slippage", tags=["api"], summary="`trackrecord slippage --json`")
    async def api_slippage() -> Response:
        return await serve.json(("slippage",), documents.slippage)


def _add_orders_api(app: FastAPI, serve: _Serve) -> None:
    """What was decided and sent: orders, their history, signals and the kill switch."""
    documents = serve.documents

    @app.get(f"{API}/orders", tags=["api"], summary="`trackrecord orders --limit N --json`")
    async def api_orders(limit: int = Query(50, ge=1, le=1000)) -> Response:
        return await serve.json(("orders", limit), lambda: documents.orders(limit))

    @app.get(f"{API}/orders/history", tags=["api"], summary="Every order with its status history")
    async def api_order_history() -> Response:
        return await serve.json(("order_history",), documents.order_history)

    @app.get(f"{API}/signals", tags=["api"], summary="The recorded signals with their plan and risk decision")
    async def api_signals() -> Response:
        return await serve.json(("signals",), documents.signals)

    @app.get(f"{API}/kill-switch", tags=["api"], summary="`trackrecord kill-switch status --json`")
    async def api_kill_switch() -> Response:
        return await serve.json(("kill_switch",), documents.kill_switch)


def _add_ledger_api(app: FastAPI, serve: _Serve) -> None:
    """The ledger itself: head, events, verification, report files and annotations."""
    documents = serve.documents

    @app.get(f"{API}/ledger", tags=["api"], summary="Head, events by kind, checkpoints and commitments")
    async def api_ledger() -> Response:
        return await serve.json(("ledger",), documents.ledger_overview)

    @app.get(f"{API}/ledger/events", tags=["api"], summary="A page of `trackrecord ledger log --json`, newest first")
    async def api_events(kind: str | None = Query(None, max_length=64),
                         before: int | None = Query(None, ge=1, le=2**62),
                         limit: int = Query(100, ge=1, le=500)) -> Response:
        return await serve.json(("events", kind, before, limit), lambda: documents.events(kind, before, limit))

    @app.get(f"{API}/verify", tags=["api"], summary="`trackrecord verify --json` of the current head")
    async def api_verify() -> Response:
        return await serve.json(("verify",), documents.verify)

    @app.get(f"{API}/reports", tags=["api"], summary="The PDFs under reports/ with their sha256")
    def api_reports() -> Response:
        return JSONResponse(documents.reports())

    @app.get(f"{API}/annotations", tags=["api"], summary="The recorded annotations")
    async def api_annotations() -> Response:
        return await serve.json(("annotations",), documents.annotations)


def _add_health(app: FastAPI, documents: DashboardDocuments) -> None:
    @app.get("/healthz", tags=["health"], summary="Database, ledger head, last daily job, data freshness")
    def healthz() -> Response:
        document = documents.health()
        return JSONResponse(document, status_code=503 if document["status"] == "down" else 200)


def _add_overview(app: FastAPI, serve: _Serve, csrf: str) -> Callable[[], None]:
    """The overview page (it carries the kill-switch form's CSRF token); returns ``warm``."""
    documents, renderer = serve.documents, serve.renderer

    def warm() -> None:
        """Build the overview's documents and page now (``trackrecord dashboard`` calls it in
        a thread at start-up): the first visit is then served from the cache."""
        documents.cached(("page", "overview", ("csrf", csrf)), lambda: renderer.render("overview", csrf=csrf))
        documents.cached_json(("summary", documents.today()), documents.summary)

    @app.get("/", include_in_schema=False)
    async def overview(notice: str | None = Query(None, max_length=200)) -> HTMLResponse:
        if notice:  # not cached: it echoes what the activation said
            return HTMLResponse(await run_in_threadpool(renderer.render, "overview", csrf=csrf, notice=notice))
        return await serve.page("overview", csrf=csrf)

    return warm


def _add_pages(app: FastAPI, serve: _Serve) -> None:
    """Every page but the overview, and the report PDFs."""
    documents, renderer = serve.documents, serve.renderer

    @app.get("/performance", include_in_schema=False)
    async def performance(period: str | None = Query(None, max_length=8),
                          period_from: str | None = Query(None, alias="from", max_length=10),
                          period_to: str | None = Query(None, alias="to", max_length=10)) -> HTMLResponse:
        return await serve.page("performance", period=period, period_from=_date(period_from, "from"),
                                period_to=_date(period_to, "to"))

    @app.get("/signals", include_in_schema=False)
    async def signals() -> HTMLResponse:
        return await serve.page("signals")

    @app.get("/orders", include_in_schema=False)
    async def orders() -> HTMLResponse:
        return await serve.page("orders")

    @app.get("/reports", include_in_schema=False)
    def reports() -> HTMLResponse:
        return HTMLResponse(renderer.render("reports"))

    @app.get("/reports/file/{path:path}", include_in_schema=False)
    def report_file(path: str) -> Any:
        return FileResponse(documents.report_file(path), media_type="application/pdf")

    @app.get("/ledger", include_in_schema=False)
    async def ledger(kind: str | None = Query(None, max_length=64), before: int | None = Query(None, ge=1, le=2**62),
                     verify: bool = False) -> HTMLResponse:
        return await serve.page("ledger", kind=kind or None, before=before, verify=verify)

    @app.get("/annotations", include_in_schema=False)
    async def annotations() -> HTMLResponse:
        return await serve.page("annotations")


def _add_login(app: FastAPI, guard: Guard) -> None:
    @app.get("/login", include_in_schema=False)
    def login_form(next: str = "/", failed: bool = False) -> HTMLResponse:
        return HTMLResponse(_login_page(_local(next), failed))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Any:
        form = await _form(request)
        target = _local(form.get("next", "/"))
        if not guard.required:
            return RedirectResponse(target, status_code=303)
        if not guard.token_matches(form.get("token")):
            await asyncio.sleep(guard.failed_login())
            return HTMLResponse(_login_page(target, True), status_code=401)
        guard.logged_in()
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, guard.session_value(), httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
        return response


def _add_kill_switch(app: FastAPI, services: "Services", guard: Guard) -> None:
    """The dashboard's one write: activating the kill switch, sealed like a CLI command."""

    @app.post("/kill-switch/activate", include_in_schema=False)
    async def activate_kill_switch(request: Request) -> Any:
        form = await _form(request)
        refusal = _activation_refusal(request, form, guard)
        if refusal is not None:
            return refusal
        opened_at = services.ledger.head()[0]
        try:
            status, previous = await asyncio.to_thread(activate, services.ledger, form.get("reason", "").strip(),
                                                       form.get("reduce_only") == "on")
        except KillSwitchRefusal as exc:
            return _error(400, str(exc))
        except SafetyRefusal as exc:  # a BACKTEST's ledger takes no kill-switch change
            return _error(409, str(exc))
        finally:
            await asyncio.to_thread(seal, services.ledger, services.workspace.private_key_path, opened_at)
        notice = f"kill switch {status.state.value} (was {previous.value}), seq {status.seq}"
        return RedirectResponse(f"/?notice={quote(notice)}", status_code=303)


def _activation_refusal(request: Request, form: dict[str, str], guard: Guard) -> JSONResponse | None:
    """Why this activation request writes nothing (another site, no CSRF token, no confirmation
    word, no reason), else None."""
    if not same_origin(request.headers.get("origin"), request.headers.get("sec-fetch-site"),
                       request.headers.get("host")):
        return _error(403, "cross-site request refused: activate the kill switch from the dashboard's own page")
    session = request.cookies.get(SESSION_COOKIE) if guard.required else None
    if not guard.csrf_ok(form.get("csrf"), session):
        return _error(403, "missing or wrong CSRF token: reload the overview page and try again")
    if form.get("confirm", "").strip() != ACTIVATION_WORD:
        return _error(400, f"type {ACTIVATION_WORD} to activate the kill switch: nothing was written")
    if not form.get("reason", "").strip():
        return _error(400, "give a reason (kept in the ledger): nothing was written")
    return None


def _add_static(app: FastAPI) -> None:
    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Any:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


class _GuardMiddleware:
    """Every response gets the security headers; with a token, a request without it is
    refused before any route runs (401 for the API and /healthz, a redirect to the login
    form for pages and static files); without one, only loopback Host names are answered."""

    def __init__(self, app: Any, guard: Guard) -> None:
        self.app = app
        self.guard = guard
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers,
                                      *(() if static else ((b"cache-control", b"no-store"),))]
            await send(message)

        refusal = self.refusal(Request(scope))
        await (refusal or self.app)(scope, receive, send_with_headers)

    def refusal(self, request: Request) -> Any:
        guard, path = self.guard, request.url.path
        if not guard.required:
            host = (request.headers.get("host") or "").rsplit(":", 1)[0]
            if not is_loopback(host):
                return JSONResponse({"detail": f"Host {host!r}: without a token the dashboard answers loopback "
                                               "names only"}, status_code=400)
            return None
        if path in OPEN_PATHS:
            return None
        if guard.bearer_ok(request.headers.get("authorization")) or guard.cookie_ok(request.cookies.get(SESSION_COOKIE)):
            return None
        if path.startswith(API) or path == "/healthz":
            return JSONResponse({"detail": "missing or wrong token: send Authorization: Bearer "
                                           "$TRACKRECORD_DASHBOARD_TOKEN"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 10_000:
        return {}
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in parsed.items()}


def _local(target: str) -> str:
    """Only a path of this site (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _error_page(message: str) -> str:
    """A page's bad input, said in one line (styled by the login page's hashed style)."""
    from html import escape

    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trackrecord: bad request</title>'
            f'<style>{LOGIN_STYLE}</style></head><body><form action="/" method="get"><h1>That page cannot be shown</h1>'
            f'<p class="err">{escape(message)}</p><button type="submit">Back to the overview</button></form>'
            '</body></html>')


def _login_page(target: str, failed: bool) -> str:
    from html import escape

    message = '<p class="err">Wrong token.</p>' if failed else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>trackrecord: sign in</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{LOGIN_STYLE}</style></head>'
            f'<body><form method="post" action="/login"><h1>trackrecord dashboard</h1>{message}'
            f'<label for="token">Access token</label><input id="token" name="token" type="password" '
            f'autocomplete="current-password" autofocus><input type="hidden" name="next" value="{escape(target)}">'
            f'<button type="submit">Sign in</button></form></body></html>')
