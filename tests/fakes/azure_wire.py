"""Fakes of the wire at the edge this machine cannot reach (Key Vault, Entra ID).

The real azure-core pipeline and the real SecretClient run; only the HTTP transport answers from a
table, including Key Vault's 401 challenge that starts every authenticated conversation.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import requests
import urllib3
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

Route = Callable[[Any], tuple[int, dict]]


class FakeKeyVaultTransport(HttpTransport):
    """Answers Key Vault requests: a 401 challenge without a bearer token, else ``route(request)``."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.requests: list[tuple[str, str, bool]] = []  # (method, url, authorized) as sent

    def __enter__(self) -> FakeKeyVaultTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    @property
    def secret_requests(self) -> list[str]:
        """URLs of the authorized requests (the challenge round-trip excluded)."""
        return [url for _, url, authorized in self.requests if authorized]

    def send(self, request: Any, **kwargs: Any) -> Any:
        self.requests.append((request.method, request.url, "Authorization" in request.headers))
        if "Authorization" not in request.headers:
            status, body, headers = (
                401,
                b"",
                {
                    "WWW-Authenticate": 'Bearer authorization="https://login.microsoftonline.com/tenant-id", '
                    'resource="https://vault.azure.net"'
                },
            )
        else:
            status, payload = self.route(request)
            body, headers = json.dumps(payload).encode(), {"content-type": "application/json"}
        raw = requests.Response()
        raw.status_code = status
        raw.headers.update(headers)
        raw.request = requests.Request(request.method, request.url).prepare()
        raw.raw = urllib3.HTTPResponse(body=io.BytesIO(body), preload_content=False, status=status)
        response = RestRequestsTransportResponse(request=request, internal_response=raw)
        response.read()
        return response


def secret_bundle(name: str, value: str) -> dict:
    return {
        "value": value,
        "id": f"https://vault.vault.azure.net/secrets/{name}/0123456789abcdef",
        "attributes": {"enabled": True},
    }


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


class FakeEntraCredential:
    """A TokenCredential that hands out a fixed token (Entra ID is out of reach here)."""

    def __init__(self, token: str = "entra-token-for-tests") -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, 4_102_444_800)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo(self.token, 4_102_444_800)
