"""Secrets come from Key Vault through the managed identity; environment variables only for local work.

With ``KEY_VAULT_URL`` set, a secret is read with ``SecretClient`` + the process's credential and
cached for ``SCOUT_SECRET_CACHE_SECONDS``; any failure is an error naming the vault and the secret —
never a fallback, never the value. With no vault (local development) the secret ``sql-password`` is
read from ``SCOUT_SECRET_SQL_PASSWORD``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from scout.config import ConfigError, Settings

_NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")


class SecretError(RuntimeError):
    """A secret could not be read; the message names the vault and secret, never a value."""


_credentials: dict[tuple[Any, str], Any] = {}
_credentials_lock = threading.Lock()


def azure_credential(settings: Settings) -> Any:
    """The process's one DefaultAzureCredential for AZURE_CLIENT_ID (the managed identity in Azure; the
    client id picks a user-assigned one). Tokens are cached per credential object, so SQL connections,
    Key Vault and storage clients share it: only the first request for a scope goes to Entra ID.
    Keyed by the class too: where ``azure.identity.DefaultAzureCredential`` is replaced (tests stand in
    for Entra ID that way), the replacement is used."""
    from azure.identity import DefaultAzureCredential

    key = (DefaultAzureCredential, settings["AZURE_CLIENT_ID"] or "")
    with _credentials_lock:
        if key not in _credentials:
            _credentials[key] = DefaultAzureCredential(managed_identity_client_id=key[1] or None)
        return _credentials[key]


def env_name(secret_name: str) -> str:
    """Environment variable that stands in for a secret during local development."""
    return "SCOUT_SECRET_" + secret_name.upper().replace("-", "_")


class SecretProvider:
    """Reads secrets from one vault (or the environment), caching each for ``ttl`` seconds."""

    def __init__(
        self,
        vault_url: str,
        *,
        ttl: float = 300.0,
        credential: Any = None,
        client_factory: Callable[[str, Any], Any] | None = None,
        environ: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.vault_url = vault_url.rstrip("/")
        self.ttl = ttl
        self.credential = credential
        self._client_factory = client_factory
        self._client: Any = None
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def _secret_client(self) -> Any:
        if self._client is None:
            if self._client_factory is not None:
                self._client = self._client_factory(self.vault_url, self.credential)
            else:
                from azure.keyvault.secrets import SecretClient

                self._client = SecretClient(self.vault_url, self.credential)
        return self._client

    def get(self, name: str) -> str:
        if not _NAME.match(name or ""):
            raise ConfigError(f"invalid secret name {name!r}: letters, digits and dashes only")
        if not self.vault_url:
            value = self._environ.get(env_name(name))
            if not value:
                raise SecretError(
                    f"secret {name} not found: set KEY_VAULT_URL, or {env_name(name)} for local development"
                )
            return value
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
            if cached and cached[0] > now:
                return cached[1]
        value = self._fetch(name)
        with self._lock:
            self._cache[name] = (now + self.ttl, value)
        return value

    def _fetch(self, name: str) -> str:
        from azure.core.exceptions import (
            ClientAuthenticationError,
            HttpResponseError,
            ResourceNotFoundError,
            ServiceRequestError,
        )

        where = f"secret {name} in {self.vault_url}"
        try:
            secret = self._secret_client().get_secret(name)
        except ResourceNotFoundError:
            raise SecretError(f"{where}: not found (404)") from None
        except ClientAuthenticationError as exc:
            raise SecretError(
                f"{where}: authentication failed ({_status(exc)}); check the app's managed identity "
                "has 'Key Vault Secrets User' on the vault"
            ) from None
        except HttpResponseError as exc:
            status = _status(exc)
            hint = {
                403: "forbidden: grant the identity 'Key Vault Secrets User'",
                429: "throttled by Key Vault; retries exhausted",
            }.get(exc.status_code or 0, "request failed")
            raise SecretError(f"{where}: {hint} ({status})") from None
        except ServiceRequestError as exc:
            raise SecretError(f"{where}: vault unreachable ({type(exc).__name__})") from None
        if secret.value is None or secret.value == "":
            raise SecretError(f"{where}: the secret is empty")
        return secret.value


def _status(exc: Any) -> str:
    code = getattr(exc, "status_code", None)
    return f"HTTP {code}" if code else type(exc).__name__


_providers: dict[tuple[str, float, str], SecretProvider] = {}


def provider_for(settings: Settings) -> SecretProvider:
    """One provider (and cache) per vault for the life of the process."""
    key = (settings["KEY_VAULT_URL"], settings["SCOUT_SECRET_CACHE_SECONDS"], settings["AZURE_CLIENT_ID"])
    if key not in _providers:
        credential = azure_credential(settings) if settings["KEY_VAULT_URL"] else None
        _providers[key] = SecretProvider(key[0], ttl=key[1], credential=credential)
    return _providers[key]


def get_secret(name: str, settings: Settings | None = None) -> str:
    return provider_for(settings or Settings.from_env()).get(name)
