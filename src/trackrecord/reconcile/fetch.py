"""IBKR's Flex Web Service (version 3): download a configured Flex query in two steps.

1. ``GET {base}/SendRequest?t=TOKEN&q=QUERY_ID&v=3`` answers a ``FlexStatementResponse`` with
   ``Status`` Success and a ``ReferenceCode`` (and the ``Url`` of step 2), or Fail with an
   ``ErrorCode``.
2. ``GET {Url or base/GetStatement}?t=TOKEN&q=REFERENCE_CODE&v=3`` answers the statement
   (``FlexQueryResponse``), or a ``FlexStatementResponse`` error while it is being prepared.

IB requires a ``User-Agent`` header ("Technology/Version", e.g. ``Python/3.11``). Codes that say
"try again shortly" (1001, 1004-1009, 1018 too many requests, 1019 generation in progress,
1021) are retried after a wait that starts at ``retry_seconds`` and doubles up to 60 s, at most
``max_attempts`` requests per step; the others stop at once. The token never appears in a
message or a log.
Sources: ibkrguides.com/clientportal/performanceandstatements/flex3.htm and the error table of
interactivebrokers.com/campus/ibkr-api-page/flex-web-service/.
"""

from __future__ import annotations

import platform
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable

from trackrecord.errors import RuntimeFailure, UserError

MAX_WAIT_SECONDS = 60.0

RETRYABLE = {
    "1001": "the statement could not be generated at this time",
    "1004": "the statement is incomplete at this time",
    "1005": "settlement data is not ready",
    "1006": "FIFO P/L data is not ready",
    "1007": "MTM P/L data is not ready",
    "1008": "MTM and FIFO P/L data is not ready",
    "1009": "the server is under heavy load",
    "1018": "too many requests from this token",
    "1019": "statement generation in progress",
    "1021": "the statement could not be retrieved at this time",
}
THROTTLED = "1018"
# Codes the user fixes (exit 2), with what to do.
USER_FIXES = {
    "1010": "legacy Flex queries are no longer supported: convert it to an Activity Flex query",
    "1011": "the Flex Web Service is inactive for this account: activate it in Client Portal",
    "1012": "the token has expired: generate a new one (Flex Web Service Configuration) and set TRACKRECORD_FLEX_TOKEN",
    "1013": "IP restriction: the token is bound to another IP address",
    "1014": "the query is invalid: check flex.query_id in trackrecord.yaml",
    "1015": "the token is invalid: check TRACKRECORD_FLEX_TOKEN",
    "1016": "the account is invalid",
    "1020": "invalid request, or the request could not be validated: check flex.query_id and the token",
}


@dataclass(frozen=True, slots=True)
class FlexService:
    base_url: str
    retry_seconds: float
    max_attempts: int
    timeout_seconds: float
    user_agent: str

    @classmethod
    def of(cls, base_url: str, retry_seconds: float, max_attempts: int, timeout_seconds: float,
           version: str) -> "FlexService":
        agent = f"trackrecord/{version} Python/{platform.python_version()}"
        return cls(base_url.rstrip("/"), retry_seconds, max_attempts, timeout_seconds, agent)


@dataclass(frozen=True, slots=True)
class FetchedStatement:
    data: bytes
    reference_code: str
    requests: int  # HTTP requests made, both steps
    waited_seconds: float


@dataclass(frozen=True, slots=True)
class _Reply:
    """A ``FlexStatementResponse``: success (reference code, url) or an error code."""

    success: bool
    reference_code: str
    url: str
    error_code: str
    error_message: str


class _Waits:
    def __init__(self, service: FlexService, sleep: Callable[[float], None]) -> None:
        self.service, self.sleep = service, sleep
        self.delay, self.waited, self.requests = service.retry_seconds, 0.0, 0

    def wait(self, code: str) -> None:
        delay = min(self.delay * (2 if code == THROTTLED else 1), MAX_WAIT_SECONDS)
        self.sleep(delay)
        self.waited += delay
        self.delay = min(max(self.delay * 2, 0.0), MAX_WAIT_SECONDS)


def fetch_statement(token: str, query_id: str, service: FlexService,
                    sleep: Callable[[float], None]) -> FetchedStatement:
    """The statement's XML bytes. ``UserError`` for what the user fixes (token, query id),
    ``RuntimeFailure`` when the service cannot be reached or is not ready in time."""
    waits = _Waits(service, sleep)
    reply = _send_request(token, query_id, service, waits)
    url = _statement_url(reply.url, service)
    for attempt in range(1, service.max_attempts + 1):
        body = _get(url, token, reply.reference_code, service, waits)
        if b"<FlexQueryResponse" in body[:4096]:
            return FetchedStatement(body, reply.reference_code, waits.requests, waits.waited)
        answer = _reply(body, url)
        if answer.error_code not in RETRYABLE:
            raise _failure(answer)
        if attempt < service.max_attempts:
            waits.wait(answer.error_code)
    raise RuntimeFailure(f"IBKR Flex Web Service: statement {reply.reference_code} still not ready after "
                         f"{service.max_attempts} attempts ({waits.waited:.0f} s waited; last answer: "
                         f"{answer.error_code} {RETRYABLE[answer.error_code]}); run `trackrecord flex fetch` again later")


def _send_request(token: str, query_id: str, service: FlexService, waits: _Waits) -> _Reply:
    url = f"{service.base_url}/SendRequest"
    for attempt in range(1, service.max_attempts + 1):
        answer = _reply(_get(url, token, query_id, service, waits), url)
        if answer.success:
            if not answer.reference_code:
                raise _failure(answer)
            return answer
        if answer.error_code not in RETRYABLE:
            raise _failure(answer)
        if attempt < service.max_attempts:
            waits.wait(answer.error_code)
    raise RuntimeFailure(f"IBKR Flex Web Service refused the request {service.max_attempts} times "
                         f"({answer.error_code}: {RETRYABLE[answer.error_code]}); run `trackrecord flex fetch` again later")


def _statement_url(given: str, service: FlexService) -> str:
    """Step 2's address: the one IB gives when it is IB's (https, an interactivebrokers.com
    host) or the configured service's own host, else ``{base}/GetStatement``."""
    fallback = f"{service.base_url}/GetStatement"
    if not given:
        return fallback
    parts, base = urllib.parse.urlsplit(given.strip()), urllib.parse.urlsplit(service.base_url)
    ours = (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
    ibkr = parts.scheme == "https" and (parts.hostname or "").endswith(".interactivebrokers.com")
    return urllib.parse.urlunsplit(parts._replace(query="", fragment="")) if ours or ibkr else fallback


def _get(url: str, token: str, query: str, service: FlexService, waits: _Waits) -> bytes:
    address = f"{url}?{urllib.parse.urlencode({'t': token, 'q': query, 'v': '3'})}"
    request = urllib.request.Request(address, headers={"User-Agent": service.user_agent})
    waits.requests += 1
    try:
        with urllib.request.urlopen(request, timeout=service.timeout_seconds) as response:  # noqa: S310 (https or loopback)
            return response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeFailure(f"IBKR Flex Web Service answered HTTP {exc.code} at {url}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RuntimeFailure(f"cannot reach the IBKR Flex Web Service at {url}: {reason}") from None


def _reply(body: bytes, url: str) -> _Reply:
    try:
        root = ET.fromstring(body)
    except (ET.ParseError, LookupError, ValueError):  # not XML, or an unknown encoding="..."
        root = None
    if root is None or root.tag != "FlexStatementResponse":
        raise RuntimeFailure(f"IBKR Flex Web Service at {url} sent an answer that is neither a statement nor a "
                             f"FlexStatementResponse (starts {body[:60]!r})")
    status = (root.findtext("Status") or "").strip()
    return _Reply(status == "Success", (root.findtext("ReferenceCode") or "").strip(),
                  (root.findtext("Url") or "").strip(), (root.findtext("ErrorCode") or "").strip(),
                  (root.findtext("ErrorMessage") or "").strip())


def _failure(answer: _Reply) -> Exception:
    if answer.success and not answer.reference_code:
        return RuntimeFailure("IBKR Flex Web Service reported success without a reference code")
    fix = USER_FIXES.get(answer.error_code)
    text = f"IBKR Flex Web Service error {answer.error_code or '?'}: {answer.error_message or 'no message'}"
    return UserError(f"{text}; {fix}") if fix else RuntimeFailure(text)
