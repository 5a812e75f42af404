"""Typed settings read once from environment variables (= Function app settings).

Every setting the code reads is declared in ``SETTINGS`` below, so one list documents them, validates
them and lets the infra tests compare it with what the Bicep templates define.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


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


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _text(raw: str) -> str:
    return raw.strip()


SETTINGS: tuple[Setting, ...] = (
    Setting("SCOUT_DATABASE_URL", "duckdb:///.scout/scout.duckdb", _text,
            "duckdb:///<path> (embedded default) or mssql://<server>.database.windows.net/<database>"),
    Setting("SCOUT_SQL_AUTH", "entra", _text,
            "mssql only: 'entra' (access token from DefaultAzureCredential) or 'sql' (login + Key Vault secret)"),
    Setting("SCOUT_SQL_USER", "", _text, "mssql with SCOUT_SQL_AUTH=sql: the SQL login name"),
    Setting("SCOUT_SQL_PASSWORD_SECRET_NAME", "sql-password", _text,
            "mssql with SCOUT_SQL_AUTH=sql: name of the Key Vault secret holding the password"),
    Setting("SCOUT_ODBC_DRIVER", "ODBC Driver 18 for SQL Server", _text, "mssql: the ODBC driver name"),
    Setting("KEY_VAULT_URL", "", _text, "https://<vault>.vault.azure.net/ (empty: local environment variables only)"),
    Setting("AZURE_CLIENT_ID", "", _text, "client id of a user-assigned managed identity (empty: system-assigned)"),
    Setting("SCOUT_SECRET_CACHE_SECONDS", 300.0, _positive_float, "how long secrets read from Key Vault are cached"),
    Setting("SCOUT_RETRY_ATTEMPTS", 5, _positive_int, "attempts for an Azure SQL command hit by transient faults"),
    Setting("SCOUT_RETRY_FIRST_WAIT_SECONDS", 5.0, _positive_float, "first back-off wait (doubles each retry, with jitter)"),
    Setting("SCOUT_RETRY_MAX_WAIT_SECONDS", 60.0, _positive_float, "cap on one back-off wait"),
    Setting("SCOUT_LOCK_TIMEOUT_SECONDS", 30.0, _positive_float,
            "how long a migration run waits for another run's lock before reporting it"),
    Setting("SCOUT_RUN_LEASE_SECONDS", 300.0, _positive_float,
            "a run (job, Monte Carlo run, results session) whose heartbeat is older than this is abandoned"),
    Setting("SCOUT_MIGRATIONS_DIR", "", _text, "folder of migration files (empty: sql/migrations of this app)",
            scope="local"),
    Setting("SCOUT_MIGRATIONS_SCHEDULE", "0 0 2 * * *", _text,
            "CRON (six fields) of the migrations timer; read by the Functions host as %SCOUT_MIGRATIONS_SCHEDULE%"),
    Setting("SCOUT_DUCKDB_MEMORY_LIMIT", "", _text,
            "embedded default: DuckDB memory_limit such as 128MB (empty: DuckDB's default, 80% of RAM); DuckDB "
            "caches what it reads up to it and spills larger work to disk",
            scope="local"),
    Setting("SCOUT_EXPORT_DESTINATION", ".scout/exports", _text,
            "where the flat export is published: a folder, or https://<account>.blob.core.windows.net/<container>[/prefix]"),
    Setting("SCOUT_EXPORT_SCHEDULE", "0 30 1 * * *", _text,
            "CRON of the nightly infer-then-export timer; read by the Functions host as %SCOUT_EXPORT_SCHEDULE%"),
    Setting("SCOUT_MONTECARLO_SCHEDULE", "0 0 3 * * *", _text,
            "CRON of the standing-scenario refresh (after the nightly export); read by the host as %SCOUT_MONTECARLO_SCHEDULE%"),
    Setting("SCOUT_MONTECARLO_STANDING_SCENARIOS", "", _text,
            "JSON list of scenarios the timer refreshes (empty: results.scenarios, else every region over 30 days)"),
    Setting("AzureWebJobsStorage", "", _text,
            "local only: storage connection string (Azurite); in Azure the identity-based settings below", secret=True,
            scope="local"),
    Setting("AzureWebJobsStorage__blobServiceUri", "", _text, "blob endpoint of the app's storage (managed identity)"),
    Setting("AzureWebJobsStorage__queueServiceUri", "", _text, "queue endpoint of the app's storage (managed identity)"),
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
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
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
