"""Azure Storage clients for the jobs: the Function app's own storage account (AzureWebJobsStorage).

Locally (and in tests) that is a connection string, e.g. Azurite's; in Azure it is identity-based:
``AzureWebJobsStorage__blobServiceUri`` / ``__queueServiceUri`` with the managed identity, no keys.
The Azure SDKs are imported here, inside the functions, never at trigger import time.
"""

from __future__ import annotations

from typing import Any

from scout.config import ConfigError, Settings


def _credential(settings: Settings) -> Any:
    from azure.identity import DefaultAzureCredential

    client_id = settings["AZURE_CLIENT_ID"] or None
    return DefaultAzureCredential(managed_identity_client_id=client_id)


def queue_client(settings: Settings, queue_name: str, *, create: bool = True) -> Any:
    """A QueueClient whose messages are Base64 text, as the Functions queue trigger expects."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    policies = {"message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy()}
    if settings["AzureWebJobsStorage"]:
        client = QueueClient.from_connection_string(settings["AzureWebJobsStorage"], queue_name, **policies)
    elif settings["AzureWebJobsStorage__queueServiceUri"]:
        client = QueueClient(settings["AzureWebJobsStorage__queueServiceUri"], queue_name,
                             credential=_credential(settings), **policies)
    else:
        raise ConfigError("no queue storage configured: set AzureWebJobsStorage (local) or "
                          "AzureWebJobsStorage__queueServiceUri (managed identity)")
    if create:
        try:
            client.create_queue()
        except ResourceExistsError:
            pass
    return client


def blob_service_client(settings: Settings) -> Any:
    from azure.storage.blob import BlobServiceClient

    if settings["AzureWebJobsStorage"]:
        return BlobServiceClient.from_connection_string(settings["AzureWebJobsStorage"])
    if settings["AzureWebJobsStorage__blobServiceUri"]:
        return BlobServiceClient(settings["AzureWebJobsStorage__blobServiceUri"], credential=_credential(settings))
    raise ConfigError("no blob storage configured: set AzureWebJobsStorage (local) or "
                      "AzureWebJobsStorage__blobServiceUri (managed identity)")
