"""The pydantic model of ``trackrecord.yaml``.

Unknown keys are errors (a typo such as ``max_postion_pct`` must never be silently
ignored). Secrets never live in the YAML: they come from environment variables named in
``SECRET_ENV`` and are masked wherever configuration is shown.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from trackrecord.domain import IbContract, Instrument, Mode
from trackrecord.errors import UserError

CONFIG_FILE = "trackrecord.yaml"

SECRET_ENV = {
    "smtp_password": "TRACKRECORD_SMTP_PASSWORD",
    "dashboard_token": "TRACKRECORD_DASHBOARD_TOKEN",
    "flex_token": "TRACKRECORD_FLEX_TOKEN",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)


class IbContractConfig(_Strict):
    symbol: str
    exchange: str = "SMART"
    primary_exchange: str | None = None
    currency: str
    con_id: int | None = None


class InstrumentConfig(_Strict):
    symbol: str = Field(description="our symbol, e.g. SXLK")
    data_symbol: str = Field(description="the price source's symbol, e.g. SXLK.L on Yahoo")
    sector: str
    currency: str = "GBP"
    price_unit: str = Field("GBP", description="unit quotes come in: GBP, GBX (pence), USD...")
    ib: IbContractConfig

    @field_validator("currency", "price_unit")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

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
    base_currency: str = "GBP"
    account_id: str | None = Field(None, description="the IB account that must be connected, e.g. U1234567")

    @field_validator("base_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError(f"expected a 3-letter currency code, got {value!r}")
        return value.upper()


class DatabaseConfig(_Strict):
    url: str | None = Field(None, description="SQLAlchemy URL; empty means trackrecord.db in the workspace")


class SigningConfig(_Strict):
    key_file: str | None = Field(None, description="the private signing key; null = keys/ledger.ed25519 here")


class PricesConfig(_Strict):
    source: Literal["yahoo", "csv", "synthetic"] = "yahoo"
    csv_dir: str | None = None
    synthetic_seed: int = 7
    history_start: str = "2015-01-01"
    max_daily_move: float = Field(0.25, gt=0, description="a bigger one-day move blocks the signal")
    max_gap_sessions: int = Field(3, ge=0, description="missing sessions in a row tolerated")
    fx_rates: dict[str, Decimal] = Field(default_factory=dict, description="units of base currency per unit")


class StrategyConfig(_Strict):
    lookback_months: int = Field(12, ge=2, le=60)
    skip_months: int = Field(1, ge=0, le=12)
    top_n: int = Field(3, ge=1)
    exit_rank: int = Field(5, ge=1)
    min_momentum: float | None = None
    drift_band: float = Field(0.02, ge=0, le=1)
    cash_buffer: float = Field(0.01, ge=0, lt=1)
    min_order_value: Decimal = Field(Decimal(100), ge=0)
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
    max_order_value: Decimal = Field(Decimal(250000), gt=0)
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
    commission_rate: Decimal = Field(Decimal("0.0005"), ge=0, description="of trade value")
    commission_min: Decimal = Field(Decimal("3"), ge=0, description="per order, base currency")
    slippage_bps: Decimal = Field(Decimal("2"), ge=0)
    account_id: str = "SIM0001"


class BrokerConfig(_Strict):
    ibkr: IbkrConfig = Field(default_factory=IbkrConfig)
    sim: SimBrokerConfig = Field(default_factory=SimBrokerConfig)


class PerformanceConfig(_Strict):
    flow_timing: Literal["start", "mid", "end"] = "start"
    risk_free_rate: float = Field(0.0, gt=-1, lt=1, description="annual")
    benchmark: str = Field("universe", description="universe, none, or an instrument symbol")


class DashboardConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)


class NotificationsConfig(_Strict):
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    email_to: list[str] = Field(default_factory=list)


class LoggingConfig(_Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_bytes: int = Field(5_000_000, gt=0)
    backups: int = Field(5, ge=0)


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
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @model_validator(mode="after")
    def _cap_fits_target(self) -> "Settings":
        target = 1.0 / self.strategy.top_n
        if self.risk.max_position_weight < target:
            raise ValueError(
                f"risk.max_position_weight {self.risk.max_position_weight} is below the strategy's own target "
                f"weight 1/{self.strategy.top_n} = {target:.4f}: the portfolio could never be built"
            )
        return self

    @property
    def simulated(self) -> bool:
        return self.prices.source == "synthetic" or self.mode is not Mode.LIVE


def secrets(environ: Mapping[str, str]) -> dict[str, str | None]:
    """Secrets by name, read from the environment only."""
    return {name: environ.get(var) for name, var in SECRET_ENV.items()}


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _explain(error: Mapping[str, Any]) -> str:
    key = _format_location(tuple(error.get("loc", ())))
    if error.get("type") == "extra_forbidden":
        return f"unknown key '{key}'"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
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
        raise UserError(f"{source}: expected a mapping of keys at the top level, got {type(data).__name__}")
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise UserError(f"{source}: {_explain(first)}{suffix}") from None


def load_settings(path: Path) -> Settings:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read configuration: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise UserError(f"{path}:{where}: malformed YAML: {problem}") from None
    return parse_settings(data, str(path))


def settings_document(settings: Settings, environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings as JSON-able data, with secrets shown only as set/unset."""
    document = settings.model_dump(mode="json")
    document["secrets"] = {
        name: ("***" if value else None) for name, value in secrets(environ).items()
    }
    return document
