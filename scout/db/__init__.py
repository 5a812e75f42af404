"""Database access: ``connect(settings)`` returns the backend the database URL names."""

from __future__ import annotations

import os
from urllib.parse import urlparse

from scout.config import ConfigError, Settings
from scout.db.base import Database, DatabaseError

__all__ = ["Database", "DatabaseError", "NoDatabase", "connect", "parse_database_url"]


class NoDatabase(ConfigError):
    """The embedded database file does not exist (a typo in SCOUT_DATABASE_URL, or never migrated).

    A configuration error: CLI exit 2; over HTTP a 500 ``configuration_error`` naming SCOUT_DATABASE_URL,
    since the server's configuration points at nothing and retrying cannot help (not a 503).
    """


def parse_database_url(url: str) -> tuple[str, str, str]:
    """(scheme, server, database-or-path) for a ``duckdb:///path`` or ``mssql://server/db`` URL."""
    if url.startswith("duckdb:///"):
        path = url[len("duckdb:///") :]
        if not path:
            raise ConfigError("SCOUT_DATABASE_URL: duckdb:/// needs a file path, e.g. duckdb:///.scout/scout.duckdb")
        return "duckdb", "", path
    parsed = urlparse(url)
    if parsed.scheme == "mssql":
        if parsed.username or parsed.password:
            raise ConfigError("SCOUT_DATABASE_URL must not carry credentials: use Entra auth or a Key Vault secret")
        database = parsed.path.lstrip("/")
        if not parsed.hostname or not database or "/" in database:
            raise ConfigError("SCOUT_DATABASE_URL: expected mssql://<server>.database.windows.net/<database>")
        return "mssql", parsed.hostname if not parsed.port else f"{parsed.hostname},{parsed.port}", database
    raise ConfigError("SCOUT_DATABASE_URL: expected duckdb:///<path> or mssql://<server>/<database>")


def connect(settings: Settings | None = None, *, create: bool = False) -> Database:
    """Open the configured database. pyodbc is imported only for mssql URLs.

    An embedded DuckDB file is created only with ``create`` (``migrate apply`` and ``scout run``, which
    build it): for every other command a missing file is a typo or a database never migrated, and
    creating an empty one would make ``jobs list`` answer "no runs" instead of saying so.
    """
    settings = settings or Settings.from_env()
    scheme, server, name = parse_database_url(settings.database_url)
    if scheme == "duckdb":
        from scout.db.duckdb_backend import DuckDBDatabase, check_file_name

        check_file_name(name)
        if not create and name != ":memory:" and not os.path.exists(name):
            raise NoDatabase(
                f"no database at {os.path.abspath(name)} (run scout migrate apply first, or fix SCOUT_DATABASE_URL)"
            )
        return DuckDBDatabase(
            name,
            open_timeout_seconds=settings["SCOUT_LOCK_TIMEOUT_SECONDS"],
            memory_limit=settings["SCOUT_DUCKDB_MEMORY_LIMIT"],
        )
    from scout.db.mssql_backend import connect_mssql

    return connect_mssql(server, name, settings)
