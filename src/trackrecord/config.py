"""The pydantic model of ``trackrecord.yaml``.

Unknown keys are errors (a typo such as ``max_postion_pct`` must never be silently
ignored). Secrets never live in the YAML: they come from environment variables named in
``SECRET_ENV`` (or files their ``*_FILE`` variables name) and are masked wherever
configuration is shown.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Mapping, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trackrecord.domain import IbContract, Instrument, Mode, is_simulated
from trackrecord.errors import UserError
from trackrecord.ledger.parsing import CURRENCY_CODE, number_problem, read_utf8
from trackrecord.secure_files import secret_from_env

CONFIG_FILE = "trackrecord.yaml"

SECRET_ENV = {
    "smtp_password": "TRACKRECORD_SMTP_PASSWORD",
    "dashboard_token": "TRACKRECORD_DASHBOARD_TOKEN",
    "flex_token": "TRACKRECORD_FLEX_TOKEN",
}


PENCE_UNITS = {"GBX": "GBX", "GBp": "GBX", "GBP_PENCE": "GBX", "GBPENCE": "GBX"}
DATABASE_DIALECTS = ("sqlite", "postgresql")


def _currency_code(value: str) -> str:
    if not isinstance(value, str) or not CURRENCY_CODE.fullmatch(value):
        raise ValueError("expected a 3-letter currency code such as GBP")
    return value.upper()


def _ledger_number(value: Decimal) -> Decimal:
    problem = number_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


CurrencyCode = Annotated[str, AfterValidator(_currency_code)]
Amount = Annotated[Decimal, AfterValidator(_ledger_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_yes_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML's true/false (also yes, no, on, off) is only a switch's value: pydantic would
        read ``top_n: true`` as 1 and ``max_orders_per_run: off`` as 0."""
        if isinstance(value, bool) and info.field_name is not None:
            annotation = cls.model_fields[info.field_name].annotation
            if not _holds(annotation, bool, Any):
                raise ValueError(f"expected {_expected(annotation)}, not {str(value).lower()} (YAML reads "
                                 "true/false, yes/no and on/off as a switch)")
        return value


def _expected(annotation: Any) -> str:
    """What a field of type ``annotation`` takes, in words."""
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(repr(arg) for arg in get_args(annotation))
    if _holds(annotation, int, float, Decimal):
        return "a number"
    return "text" if _holds(annotation, str) else "a value"


def _holds(annotation: Any, *types: Any) -> bool:
    """Whether a field's type is one of ``types`` or a union or wrapper holding one."""
    return annotation in types or any(_holds(arg, *types) for arg in get_args(annotation))


class IbContractConfig(_Strict):
    symbol: str
    exchange: str = "SMART"
    primary_exchange: str | None = None
    currency: CurrencyCode
    con_id: int | None = None


class InstrumentConfig(_Strict):
    symbol: str = Field(description="our symbol, e.g. SXLK")
    data_symbol: str = Field(description="the price source's symbol, e.g. SXLK.L on Yahoo")
    sector: str
    currency: CurrencyCode = "GBP"
    price_unit: str = Field("GBP", description="unit quotes come in: the currency, or GBX / GBp (pence of GBP)")
    ib: IbContractConfig

    @model_validator(mode="after")
    def _known_price_unit(self) -> "InstrumentConfig":
        """Quotes come in the instrument's currency or, for GBP, in pence (GBX, Yahoo's GBp).

        Anything else would silently be taken as the currency itself (``GBp`` upper-cased
        is pounds: a 100x error), so it is refused.
        """
        unit = self.price_unit.strip()
        if unit in PENCE_UNITS or unit.upper() in ("GBX", "GBP_PENCE", "GBPENCE"):
            if self.currency != "GBP":
                raise ValueError(f"price_unit {unit!r} (pence) needs currency GBP, got {self.currency}")
            object.__setattr__(self, "price_unit", "GBX")
        elif unit.upper() == self.currency:
            object.__setattr__(self, "price_unit", self.currency)
        else:
            raise ValueError(f"unknown price_unit {unit!r} for {self.symbol}: expected {self.currency} "
                             f"(quotes in the currency){' or GBX / GBp (pence)' if self.currency == 'GBP' else ''}")
        return self

    def to_domain(self, calendar: str) -> Instrument:
        ib = IbContract(
            symbol=self.ib.symbol,
            exchange=self.ib.exchange,
            currency=self.ib.currency,
            primary_exchange=self.ib.primary_exchange,
            con_id=self.ib.con_id,
        )
        return Instrument(self.symbol, self.data_symbol, self.sector, self.currency, self.price_unit, calendar, ib)


UK_SECTORS: tuple[tuple[str, str], ...] = (
    ("SXLK", "Technology"),
    ("SXLF", "Financials"),
    ("SXLE", "Energy"),
    ("SXLV", "Health Care"),
    ("SXLY", "Consumer Discretionary"),
    ("SXLP", "Consumer Staples"),
    ("SXLI", "Industrials"),
    ("SXLB", "Materials"),
    ("SXLU", "Utilities"),
)


def uk_sector_instruments() -> list[InstrumentConfig]:
    """The SPDR US sector UCITS lines on the LSE, GBP lines quoted in pence.

    Which line (GBP or USD) and which quote unit IB uses is confirmed by the paper smoke
    script (docs/ib-paper-smoke.md); edit trackrecord.yaml if your account differs.
    """
    return [
        InstrumentConfig(
            symbol=symbol,
            data_symbol=f"{symbol}.L",
            sector=sector,
            currency="GBP",
            price_unit="GBX",
            ib=IbContractConfig(symbol=symbol, exchange="SMART", primary_exchange="LSEETF", currency="GBP"),
        )
        for symbol, sector in UK_SECTORS
    ]


def us_sector_instruments() -> list[InstrumentConfig]:
    return [
        InstrumentConfig(
            symbol=f"XL{symbol[3]}",
            data_symbol=f"XL{symbol[3]}",
            sector=sector,
            currency="USD",
            price_unit="USD",
            ib=IbContractConfig(symbol=f"XL{symbol[3]}", exchange="SMART", primary_exchange="ARCA", currency="USD"),
        )
        for symbol, sector in UK_SECTORS
    ]


class UniverseConfig(_Strict):
    name: str = "uk-sectors"
    calendar: str = Field("XLON", description="exchange_calendars code")

    @field_validator("calendar")
    @classmethod
    def _calendar_code(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("expected an exchange_calendars code such as XLON or XNYS")
        return value.strip()
    instruments: list[InstrumentConfig] = Field(default_factory=uk_sector_instruments)

    @model_validator(mode="after")
    def _unique_symbols(self) -> "UniverseConfig":
        seen: set[str] = set()
        for instrument in self.instruments:
            if instrument.symbol in seen:
                raise ValueError(f"instrument symbol {instrument.symbol!r} appears twice")
            seen.add(instrument.symbol)
        if not self.instruments:
            raise ValueError("the universe needs at least one instrument")
        return self

    def domain_instruments(self) -> list[Instrument]:
        return [i.to_domain(self.calendar) for i in self.instruments]


class AccountConfig(_Strict):
    base_currency: CurrencyCode = "GBP"
    account_id: str | None = Field(None, description="the IB account that must be connected, e.g. U1234567")


class DatabaseConfig(_Strict):
    url: str | None = Field(None, description="SQLAlchemy URL; empty means trackrecord.db in the workspace")

    @field_validator("url")
    @classmethod
    def _supported_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            dialect = make_url(value).get_backend_name()
        except (ArgumentError, ValueError):
            raise ValueError("expected a SQLAlchemy URL such as sqlite:///path/trackrecord.db or "
                             "postgresql+psycopg://user@host/db") from None
        if dialect not in DATABASE_DIALECTS:
            raise ValueError(f"database {dialect!r} is not supported: expected sqlite or postgresql")
        return value


class SigningConfig(_Strict):
    key_file: str | None = Field(None, description="the private signing key; null = keys/ledger.ed25519 here")


# Yahoo's daily bar holds the last trade until the exchange's closing price replaces it,
# minutes after the bell: a session's bar is not fetched from Yahoo sooner than this.
YAHOO_CLOSE_SETTLES_MINUTES = 15


class PricesConfig(_Strict):
    source: Literal["yahoo", "csv", "synthetic"] = "yahoo"
    csv_dir: str | None = None
    synthetic_seed: int = Field(7, ge=0, description="the synthetic market's seed (numpy takes no negative one)")
    history_start: str = "2015-01-01"
    max_daily_move: float = Field(0.25, gt=0, description="a bigger one-day move blocks the signal")
    max_gap_sessions: int = Field(3, ge=0, description="missing sessions in a row tolerated")
    fx_rates: dict[CurrencyCode, Amount] = Field(default_factory=dict, description="units of base currency per unit")

    @field_validator("history_start", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> str:
        if isinstance(value, date):  # YAML reads an unquoted 2015-01-01 as a date
            return value.isoformat()
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise ValueError("expected a date YYYY-MM-DD") from None

    @field_validator("fx_rates")
    @classmethod
    def _positive_rates(cls, rates: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in rates.items():
            if rate <= 0:
                raise ValueError(f"the {code} rate must be above zero, got {rate}")
        return rates

    @model_validator(mode="after")
    def _csv_needs_a_folder(self) -> "PricesConfig":
        if self.source == "csv" and not (self.csv_dir or "").strip():
            raise ValueError("prices.csv_dir is empty but prices.source is csv: set csv_dir to a folder of <SYMBOL>.csv files")
        return self


class StrategyConfig(_Strict):
    lookback_months: int = Field(12, ge=2, le=60)
    skip_months: int = Field(1, ge=0, le=12)
    top_n: int = Field(3, ge=1)
    exit_rank: int = Field(5, ge=1)
    min_momentum: float | None = None
    drift_band: float = Field(0.02, ge=0, le=1)
    cash_buffer: float = Field(0.01, ge=0, lt=1)
    min_order_value: Amount = Field(Decimal(100), ge=0)
    order_type: Literal["MOC", "MKT"] = "MOC"

    @model_validator(mode="after")
    def _ranks(self) -> "StrategyConfig":
        if self.exit_rank < self.top_n:
            raise ValueError(f"exit_rank ({self.exit_rank}) must be at least top_n ({self.top_n})")
        if self.skip_months >= self.lookback_months:
            raise ValueError("skip_months must be smaller than lookback_months")
        return self


class RiskConfig(_Strict):
    max_position_weight: float = Field(0.35, gt=0, le=1)
    max_turnover: float = Field(1.0, gt=0, description="traded value / NAV per run")
    allow_initial_deployment: bool = True
    max_order_value: Amount = Field(Decimal(250000), gt=0)
    max_orders_per_run: int = Field(20, ge=1)
    price_collar: float = Field(0.10, gt=0, description="reference vs last close")
    max_price_age_sessions: int = Field(1, ge=0)
    daily_loss_limit: float = Field(0.05, gt=0, lt=1)
    moc_cutoff_minutes: int = Field(10, ge=0, description="minutes before the close")


class IbkrConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(7497, ge=1, le=65535)
    client_id: int = 17
    connect_timeout: float = Field(10.0, gt=0)
    request_timeout: float = Field(20.0, gt=0)
    max_connect_attempts: int = Field(4, ge=1, le=20)
    read_only: bool = False
    order_timeout: float = Field(60.0, gt=0)


class SimBrokerConfig(_Strict):
    seed: int = 1
    commission_rate: Amount = Field(Decimal("0.0005"), ge=0, description="of trade value")
    commission_min: Amount = Field(Decimal("3"), ge=0, description="per order, base currency")
    slippage_bps: Amount = Field(Decimal("2"), ge=0)
    account_id: str = "SIM0001"


class BrokerConfig(_Strict):
    ibkr: IbkrConfig = Field(default_factory=IbkrConfig)
    sim: SimBrokerConfig = Field(default_factory=SimBrokerConfig)


class PerformanceConfig(_Strict):
    flow_timing: Literal["start", "mid", "end"] = "start"
    risk_free_rate: float = Field(0.0, gt=-1, lt=1, description="annual")
    benchmark: str = Field("universe", description="universe, none, or an instrument symbol")
    benchmarks: list[str] = Field(default_factory=list, description="more benchmark symbols, priced but never traded")

    def benchmark_symbols(self) -> list[str]:
        """Every symbol named as a benchmark (not ``universe`` or ``none``), in order, once each."""
        names = [self.benchmark, *self.benchmarks]
        symbols = [n.strip() for n in names if n.strip() and n.strip().lower() not in ("universe", "none")]
        return list(dict.fromkeys(symbols))


class DashboardConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)


NOTIFICATION_EVENTS = ("daily_summary", "rebalance_plan", "fills", "risk_denial", "kill_switch", "job_failed",
                       "monthly_report")
JOB_NAMES = ("rebalance", "close", "monthly-report", "weekly-report", "flex")


class WebhookConfig(_Strict):
    url: str | None = Field(None, description="the webhook URL (a secret for Slack/Discord: prefer url_env)")
    url_env: str | None = Field(None, description="name of an environment variable holding the URL")
    format: Literal["slack", "discord", "generic"] = "generic"

    @model_validator(mode="after")
    def _one_url(self) -> "WebhookConfig":
        if bool(self.url) == bool(self.url_env):
            raise ValueError("give exactly one of url or url_env")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {self.url[:40]!r}")
        return self


class NotificationsConfig(_Strict):
    smtp_host: str | None = None
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    email_from: str | None = None
    email_to: list[str] = Field(default_factory=list)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    events: list[str] = Field(default_factory=lambda: list(NOTIFICATION_EVENTS))
    attempts: int = Field(4, ge=1, le=20)
    backoff_seconds: float = Field(2.0, ge=0, le=600)
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: list[str]) -> list[str]:
        for name in events:
            if name not in NOTIFICATION_EVENTS:
                raise ValueError(f"unknown notification event {name!r}: expected some of {', '.join(NOTIFICATION_EVENTS)}")
        return events

    @model_validator(mode="after")
    def _recipients_with_a_server(self) -> "NotificationsConfig":
        if self.smtp_host and not self.email_to:
            raise ValueError("smtp_host is set but email_to is empty: name at least one recipient")
        return self


def _clock_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):  # YAML 1.1 reads an unquoted 08:00 as 480 (minutes, sexagesimal)
        value = f"{value // 60:02d}:{value % 60:02d}"
    text = str(value).strip()
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and 0 <= int(hours) < 24
            and 0 <= int(minutes) < 60):
        raise ValueError("expected a time of day HH:MM (exchange time), e.g. 08:00")
    return f"{int(hours):02d}:{minutes}"


class SchedulerConfig(_Strict):
    jobs: list[str] = Field(default_factory=lambda: ["rebalance", "close", "monthly-report", "weekly-report"])
    rebalance_minutes_before_close: int = Field(60, ge=1, le=600)
    close_minutes_after_close: int = Field(30, ge=1, le=600)
    reports_minutes_after_close: int = Field(60, ge=1, le=720)
    flex_time: str = Field("08:00", description="exchange time of day of the flex job, the session after")
    late_rebalance: bool = False
    live_orders: bool = Field(False, description="in mode: live, the rebalance job may send orders unattended "
                              "(without it the job plans, records the plan and refuses to send)")
    heartbeat_seconds: int = Field(30, ge=1, le=3600)

    @field_validator("flex_time", mode="before")
    @classmethod
    def _flex_time(cls, value: Any) -> str:
        return _clock_time(value) or "08:00"

    @field_validator("jobs")
    @classmethod
    def _known_jobs(cls, jobs: list[str]) -> list[str]:
        for name in jobs:
            if name not in JOB_NAMES:
                raise ValueError(f"unknown job {name!r}: expected some of {', '.join(JOB_NAMES)}")
        if len(set(jobs)) != len(jobs):
            raise ValueError("a job is named twice")
        return jobs


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(5_000_000, gt=0)
    backups: int = Field(5, ge=0)


FLEX_SERVICE_URL = "https://ndcdyn.interactivebrokers.com/AccountManagement/FlexWebService"


class FlexConfig(_Strict):
    query_id: str | None = Field(None, description="the Activity Flex query's id (Client Portal > Flex Queries)")
    base_url: str = FLEX_SERVICE_URL
    retry_seconds: float = Field(5.0, ge=0, le=300, description="first wait while IB prepares the statement")
    max_attempts: int = Field(8, ge=1, le=30)
    timeout_seconds: float = Field(60.0, gt=0, le=600)

    @field_validator("query_id", mode="before")
    @classmethod
    def _digits(cls, value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit():
            raise ValueError("expected the Flex query id, a number such as 123456")
        return text

    @field_validator("base_url")
    @classmethod
    def _https_or_loopback(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value.strip())
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
            raise ValueError("expected an https:// URL (plain http only to 127.0.0.1, for tests)")
        return value.strip().rstrip("/")


class Settings(_Strict):
    mode: Mode = Mode.DRY_RUN
    account: AccountConfig = Field(default_factory=AccountConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    signing: SigningConfig = Field(default_factory=SigningConfig)
    universe: UniverseConfig = Field(default_factory=UniverseConfig)
    prices: PricesConfig = Field(default_factory=PricesConfig)
    strategy: StrategyConfig = Field(default_factory=StrategyConfig)
    risk: RiskConfig = Field(default_factory=RiskConfig)
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    flex: FlexConfig = Field(default_factory=FlexConfig)

    @model_validator(mode="after")
    def _cap_fits_target(self) -> "Settings":
        target = 1.0 / self.strategy.top_n
        if self.risk.max_position_weight < target:
            raise ValueError(
                f"risk.max_position_weight {self.risk.max_position_weight} is below the strategy's own target "
                f"weight 1/{self.strategy.top_n} = {target:.4f}: the portfolio could never be built"
            )
        return self

    @model_validator(mode="after")
    def _rebalance_before_the_cutoff(self) -> "Settings":
        if self.scheduler.rebalance_minutes_before_close <= self.risk.moc_cutoff_minutes:
            raise ValueError(
                f"scheduler.rebalance_minutes_before_close {self.scheduler.rebalance_minutes_before_close} must be "
                f"more than risk.moc_cutoff_minutes {self.risk.moc_cutoff_minutes}: the rebalance would start after "
                "the closing-auction order cut-off")
        return self

    @model_validator(mode="after")
    def _rates_for_foreign_instruments(self) -> "Settings":
        base = self.account.base_currency
        for index, instrument in enumerate(self.universe.instruments):
            if instrument.currency != base and instrument.currency not in self.prices.fx_rates:
                raise ValueError(
                    f"universe.instruments[{index}] {instrument.symbol} is in {instrument.currency} but "
                    f"account.base_currency is {base} and prices.fx_rates has no {instrument.currency} rate: "
                    f"add one (units of {base} per {instrument.currency}) or change account.base_currency"
                )
        return self

    @property
    def simulated(self) -> bool:
        return is_simulated(self.mode, (self.prices.source,))


def secrets(environ: Mapping[str, str]) -> dict[str, str | None]:
    """Secrets by name, from the environment: ``$VAR`` or the file ``$VAR_FILE`` names."""
    return {name: secret_from_env(var, environ) for name, var in SECRET_ENV.items()}


def format_location(loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the dotted key a trader reads: ``universe.instruments[0].currency``."""
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def explain_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as the line every command prints (without the file); a database
    URL's value is never echoed (it may hold a password)."""
    key = format_location(tuple(error.get("loc", ())))
    if error.get("type") == "extra_forbidden":
        return f"unknown key '{key}'"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    if key == "database.url":  # the URL may hold a password: never echo it
        return f"key '{key}': {message}"
    if key:
        return f"key '{key}': {message} (got {error.get('input')!r})" if "input" in error and not isinstance(
            error.get("input"), (dict, list)
        ) else f"key '{key}': {message}"
    return message


def parse_settings(data: Any, source: str) -> Settings:
    """Validate a mapping as settings, or raise UserError naming the file and key."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(top_level_message(source, data))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{source}: {explain_error(exc.errors()[0])}{more_problems(len(exc.errors()) - 1)}") from None


def top_level_message(source: str, data: Any) -> str:
    return f"{source}: expected a mapping of keys at the top level, got {type(data).__name__}"


def more_problems(more: int) -> str:
    """The suffix of a first problem's line when ``more`` follow it."""
    return f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""


def yaml_error(source: str, exc: yaml.YAMLError) -> tuple[int | None, str, str]:
    """(line, problem, the one-line message) of a YAML syntax error."""
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
    problem = str(getattr(exc, "problem", None) or getattr(exc, "reason", None) or "not valid YAML")
    return (None if mark is None else mark.line + 1), problem, f"{source}:{where} malformed YAML: {problem}"


def load_settings(path: Path) -> Settings:
    """Read, parse and validate ``trackrecord.yaml``; every problem is one UserError line."""
    text, _ = read_utf8(path, "the configuration")
    return parse_settings(parse_yaml(text, str(path)), str(path))


def parse_yaml(text: str, source: str) -> Any:
    """YAML with every mapping's keys unique (PyYAML lets a repeated key silently win)."""
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise UserError(yaml_error(source, exc)[2]) from None
    except RecursionError:
        raise UserError(f"{source}: malformed YAML: nested too deeply") from None


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader refusing a key repeated in one mapping (a second ``mode:`` must not win)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
                seen.setdefault(key, line)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice (lines {first} and {line}); keep one",
                    key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def check_references(settings: Settings, source: str) -> None:
    """What the model alone cannot see (``config check``): names that must exist in a library.

    Raises UserError naming the key; loading exchange_calendars costs half a second, so
    commands that open the calendar anyway find an unknown code there, and a code whose
    calendar is in the cache (``market.calendar_cache``: only a known code is built) is
    not looked up again.
    """
    from trackrecord.market import calendar_cache

    code = settings.universe.calendar
    if calendar_cache.holds(code):
        return
    import exchange_calendars

    if code not in exchange_calendars.get_calendar_names(include_aliases=True):
        raise UserError(f"{source}: key 'universe.calendar': {code!r} is not an exchange_calendars code "
                        "(e.g. XLON, XNYS, XETR)")


def masked_url(url: str | None) -> str | None:
    """A database URL with its password shown as ``***`` (``scheme://user:***@host/db``)."""
    if not url or "://" not in url or url.startswith("sqlite"):
        return url
    scheme, rest = url.split("://", 1)
    credentials, at, location = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{location}"


def settings_document(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings as JSON-able data, with secrets shown only as set/unset."""
    document = settings.model_dump(mode="json")
    document["database"]["url"] = masked_url(settings.database.url)
    document["secrets"] = {
        name: ("***" if value else None) for name, value in secrets(environ).items()
    }
    return document
