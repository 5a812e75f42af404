"""Secrets come from Key Vault (the real SecretClient over a fake wire); failures are clear, never a fallback."""

import logging

import pytest
from azure.keyvault.secrets import SecretClient

from scout.config import ConfigError, Settings
from scout.secrets import SecretError, SecretProvider, env_name
from tests.fakes.azure_wire import FakeEntraCredential, FakeKeyVaultTransport, error_body, secret_bundle

VAULT = "https://scout-kv.vault.azure.net"
VALUE = "value-that-must-never-leak-0451"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def provider(route, clock=None, ttl=300.0):
    transport = FakeKeyVaultTransport(route)

    def factory(url, cred):
        return SecretClient(
            url, cred, transport=transport, verify_challenge_resource=False, retry_total=2, retry_backoff_factor=0.001
        )

    return SecretProvider(
        VAULT,
        ttl=ttl,
        credential=FakeEntraCredential(),
        client_factory=factory,
        environ={env_name("sql-password"): "env-value-ignored-when-a-vault-is-set"},
        clock=clock or Clock(),
    ), transport


def test_secret_is_read_from_the_vault_and_cached_until_the_ttl_expires():
    clock = Clock()
    secrets, wire = provider(lambda req: (200, secret_bundle("sql-password", VALUE)), clock, ttl=60)

    assert secrets.get("sql-password") == VALUE
    assert secrets.get("sql-password") == VALUE
    assert len(wire.secret_requests) == 1
    assert "/secrets/sql-password" in wire.secret_requests[0]

    clock.now += 61
    assert secrets.get("sql-password") == VALUE
    assert len(wire.secret_requests) == 2


@pytest.mark.parametrize(
    "status, code, expected",
    [
        (403, "Forbidden", "Key Vault Secrets User"),
        (404, "SecretNotFound", "not found (404)"),
        (429, "Throttled", "throttled"),
    ],
)
def test_vault_failures_are_clear_errors_naming_the_secret_and_never_fall_back(status, code, expected):
    secrets, wire = provider(lambda req: (status, error_body(code, "no")))

    with pytest.raises(SecretError) as failure:
        secrets.get("sql-password")

    message = str(failure.value)
    assert expected in message and "sql-password" in message and VAULT in message
    assert "env-value" not in message  # the environment stand-in is not used when a vault is configured


def test_throttling_is_retried_by_azure_core_before_it_is_reported():
    secrets, wire = provider(lambda req: (429, error_body("Throttled", "slow down")))
    with pytest.raises(SecretError):
        secrets.get("sql-password")
    assert len(wire.secret_requests) == 3  # first try + retry_total=2


def test_secret_values_never_reach_logs_or_errors(caplog):
    caplog.set_level(logging.DEBUG)
    secrets, _ = provider(lambda req: (200, secret_bundle("sql-password", VALUE)))
    secrets.get("sql-password")
    assert VALUE not in caplog.text


def test_without_a_vault_the_environment_stands_in_for_local_development():
    local = SecretProvider("", environ={"SCOUT_SECRET_SQL_PASSWORD": "local-dev"})
    assert local.get("sql-password") == "local-dev"
    with pytest.raises(SecretError, match="SCOUT_SECRET_OTHER"):
        local.get("other")


def test_secret_names_are_validated():
    with pytest.raises(ConfigError):
        SecretProvider("").get("../etc/passwd")


def test_an_unresolved_key_vault_reference_in_a_setting_is_an_error_naming_it():
    reference = "@Microsoft.KeyVault(SecretUri=https://scout-kv.vault.azure.net/secrets/x/)"
    with pytest.raises(ConfigError, match="SCOUT_SQL_USER.*unresolved Key Vault reference"):
        Settings.from_env({"SCOUT_SQL_USER": reference})
