"""Logging for the CLI: job events to stderr only when asked (SCOUT_LOG_LEVEL), never secrets.

In Azure Functions the host owns the root logger and forwards records to Application Insights.
"""

from __future__ import annotations

import logging
import os
import sys


def configure_cli_logging() -> None:
    level = os.environ.get("SCOUT_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr, level=getattr(logging, level, logging.WARNING), format="%(levelname)s %(name)s %(message)s"
    )
    # azure-core logs full HTTP requests at INFO; keep them out of CLI output
    logging.getLogger("azure").setLevel(logging.WARNING)
