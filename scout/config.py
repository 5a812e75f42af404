"""Typed settings read once from environment variables (= Function app settings).

Every setting the code reads is declared in ``SETTINGS`` below, so one list documents them, validates
them and lets the infra tests compare it with what the Bicep templates define.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the setting, never its value."""


_KEY_VAULT_REFERENCE = re.compile(r"^\s*@Microsoft\.KeyVault\(", re.IGNORECASE)


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    parse: Callable[[str], Any]
    help: str
    secret: bool = False
    #: "azure": the infra templates define it; "local": for local development only, never in Azure.
    scope: str = "azure"


def _number(kind: type, lo: float, hi: float, *, above_lo: bool = False) -> Callable[[str], Any]:
    """A parser for a finite number of ``kind`` in [lo, hi] (in (lo, hi] with ``above_lo``).

    ``float()`` alone takes ``nan``, ``inf`` and ``1e999``: a lock timeout of ``nan`` waits forever.
    """
    what = "a whole number" if kind is int else "a finite number"
    shown = f"greater than {lo:g}" if above_lo else f"at least {lo:g}"

    def parse(raw: str) -> Any:
        try:
            value = kind(raw.strip())
        except (ValueError, OverflowError):
            raise ValueError(f"must be {what}") from None
        if not math.isfinite(value):
            raise ValueError(f"must be {what}")
        if value < lo or (above_lo and value == lo):
            raise ValueError(f"must be {shown}")
        if value > hi:
            raise ValueError(f"must be at most {hi:g}")
        return value

    return parse


def _choice(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}")
        return value

    return parse


#: DuckDB's memory_limit units (bytes each); a number without a unit is refused (it would mean bytes).
MEMORY_UNITS = {
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
}
#: Below this DuckDB cannot even seed the demo data (8MB fails on the first insert).
MEMORY_LIMIT_MIN_BYTES = 16 * 10**6
MEMORY_LIMIT_MAX_BYTES = 2**50
_MEMORY_LIMIT = re.compile(r"^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$", re.ASCII)


def parse_memory_limit(raw: str) -> str:
    """``512MB``, ``2 GiB`` ... as DuckDB's ``SET memory_limit`` takes it; empty = DuckDB's default.

    Checked when settings are read, so a wrong value is a ConfigError naming the setting (exit 2), not a
    database failure half-way into a job; the value reaches SQL only in this normalised form.
    """
    text = raw.strip()
    if not text:
        return ""
    match = _MEMORY_LIMIT.match(text)
    unit = match.group(2).upper() if match else ""
    if not match or unit not in MEMORY_UNITS:
        raise ValueError("must look like 512MB or 2GB (units: KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    size = float(match.group(1)) * MEMORY_UNITS[unit]
    if not MEMORY_LIMIT_MIN_BYTES <= size <= MEMORY_LIMIT_MAX_BYTES:
        raise ValueError("must be between 16MB and 1024TiB")
    spelled = {"KIB": "KiB", "MIB": "MiB", "GIB": "GiB", "TIB": "TiB"}.get(unit, unit)
    return f"{match.group(1)}{spelled}"


def _text(raw: str) -> str:
    return raw.strip()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SCOUT_DATABASE_URL",
        "duckdb:///.scout/scout.duckdb",
        _text,
        "duckdb:///<path> (embedded default) or mssql://<server>.database.windows.net/<database>",
    ),
    Setting(
        "SCOUT_SQL_AUTH",
        "entra",
        _choice("entra", "sql"),
        "mssql only: 'entra' (access token from DefaultAzureCredential) or 'sql' (login + Key Vault secret)",
    ),
    Setting("SCOUT_SQL_USER", "", _text, "mssql with SCOUT_SQL_AUTH=sql: the SQL login name"),
    Setting(
        "SCOUT_SQL_PASSWORD_SECRET_NAME",
        "sql-password",
        _text,
        "mssql with SCOUT_SQL_AUTH=sql: name of the Key Vault secret holding the password",
    ),
    Setting("SCOUT_ODBC_DRIVER", "ODBC Driver 18 for SQL Server", _text, "mssql: the ODBC driver name"),
    Setting("KEY_VAULT_URL", "", _text, "https://<vault>.vault.azure.net/ (empty: local environment variables only)"),
    Setting("AZURE_CLIENT_ID", "", _text, "client id of a user-assigned managed identity (empty: system-assigned)"),
    Setting(
        "SCOUT_SECRET_CACHE_SECONDS",
        300.0,
        _number(float, 0, 86_400),
        "how long secrets read from Key Vault are cached",
    ),
    Setting(
        "SCOUT_RETRY_ATTEMPTS", 5, _number(int, 1, 20), "attempts for an Azure SQL command hit by transient faults"
    ),
    Setting(
        "SCOUT_RETRY_FIRST_WAIT_SECONDS",
        5.0,
        _number(float, 0, 600),
        "first back-off wait (doubles each retry, with jitter)",
    ),
    Setting("SCOUT_RETRY_MAX_WAIT_SECONDS", 60.0, _number(float, 0, 3_600), "cap on one back-off wait"),
    Setting(
        "SCOUT_LOCK_TIMEOUT_SECONDS",
        30.0,
        _number(float, 0, 86_400, above_lo=True),
        "how long a migration run waits for another run's lock before reporting it",
    ),
    Setting(
        "SCOUT_RUN_LEASE_SECONDS",
        300.0,
        _number(float, 0, 7 * 86_400, above_lo=True),
        "a run (job, Monte Carlo run, results session) whose heartbeat is older than this is abandoned",
    ),
    Setting(
        "SCOUT_MIGRATIONS_DIR",
        "",
        _text,
        "folder of migration files (empty: sql/migrations of this app)",
        scope="local",
    ),
    Setting(
        "SCOUT_MIGRATIONS_SCHEDULE",
        "0 0 2 * * *",
        _text,
        "CRON (six fields) of the migrations timer; read by the Functions host as %SCOUT_MIGRATIONS_SCHEDULE%",
    ),
    Setting(
        "SCOUT_DUCKDB_MEMORY_LIMIT",
        "",
        parse_memory_limit,
        "embedded default: DuckDB memory_limit such as 128MB (empty: DuckDB's default, 80% of RAM); DuckDB "
        "caches what it reads up to it and spills larger work to disk",
        scope="local",
    ),
    Setting(
        "SCOUT_EXPORT_DESTINATION",
        ".scout/exports",
        _text,
        "where the flat export is published: a folder, or https://<account>.blob.core.windows.net/<container>[/prefix]",
    ),
    Setting(
        "SCOUT_EXPORT_SCHEDULE",
        "0 30 1 * * *",
        _text,
        "CRON of the nightly infer-then-export timer; read by the Functions host as %SCOUT_EXPORT_SCHEDULE%",
    ),
    Setting(
        "SCOUT_MONTECARLO_SCHEDULE",
        "0 0 3 * * *",
        _text,
        "CRON of the standing-scenario refresh (after the nightly export); read by the host as %SCOUT_MONTECARLO_SCHEDULE%",
    ),
    Setting(
        "SCOUT_MEDALLION_VERIFY_SCHEDULE",
        "0 15 4 * * *",
        _text,
        "CRON of the nightly medallion verify (legacy vs silver); read by the host as %SCOUT_MEDALLION_VERIFY_SCHEDULE%",
    ),
    Setting(
        "SCOUT_MEDALLION_REFRESH_SCHEDULE",
        "0 */30 * * * *",
        _text,
        "CRON of the incremental gold refresh; read by the host as %SCOUT_MEDALLION_REFRESH_SCHEDULE%",
    ),
    Setting(
        "SCOUT_PERSONAS_SYNC_SCHEDULE",
        "0 */15 * * * *",
        _text,
        "CRON of the persona registry's dual-write sync (until cutover); read by the host as %SCOUT_PERSONAS_SYNC_SCHEDULE%",
    ),
    Setting(
        "SCOUT_TARGETING_SCHEDULE",
        "0 0 * * * *",
        _text,
        "CRON of matching new people to personas; read by the host as %SCOUT_TARGETING_SCHEDULE%",
    ),
    Setting(
        "SCOUT_MONTECARLO_STANDING_SCENARIOS",
        "",
        _text,
        "JSON list of scenarios the timer refreshes (empty: results.scenarios, else every region over 30 days)",
    ),
    Setting(
        "AzureWebJobsStorage",
        "",
        _text,
        "local only: storage connection string (Azurite); in Azure the identity-based settings below",
        secret=True,
        scope="local",
    ),
    Setting("AzureWebJobsStorage__blobServiceUri", "", _text, "blob endpoint of the app's storage (managed identity)"),
    Setting(
        "AzureWebJobsStorage__queueServiceUri", "", _text, "queue endpoint of the app's storage (managed identity)"
    ),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Validated settings; ``values`` maps each declared setting name to its parsed value."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    @property
    def database_url(self) -> str:
        return self.values["SCOUT_DATABASE_URL"]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(setting.name)
            if raw is None or raw.strip() == "":
                values[setting.name] = setting.default
                continue
            if _KEY_VAULT_REFERENCE.match(raw):
                raise ConfigError(
                    f"setting {setting.name} is still an unresolved Key Vault reference: check the app's "
                    "identity has 'Key Vault Secrets User' on the vault and the secret exists"
                )
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                shown = "" if setting.secret else f" {raw!r}"
                raise ConfigError(f"setting {setting.name} has an invalid value{shown}: {exc}") from None
        for name, value in overrides.items():
            if name not in SETTINGS_BY_NAME:
                raise ConfigError(f"unknown setting {name}")
            values[name] = value
        return cls(values)


def unresolved_key_vault_reference(name: str, environ: Mapping[str, str] | None = None) -> bool:
    """True when an app setting still holds a ``@Microsoft.KeyVault(...)`` reference the platform failed to resolve."""
    environ = os.environ if environ is None else environ
    return bool(_KEY_VAULT_REFERENCE.match(environ.get(name, "")))
