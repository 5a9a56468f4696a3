"""Calls out to national systems: every call has a timeout, and every failure is raised as
``ConnectorError`` with a reason that says what a citizen or an officer should be told.

Bodies are never logged (they carry personal data); the log line names the system, the
URL's path, the status and the time taken.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests

log = logging.getLogger("motcua.connectors")

# Reasons, as the pages and the admin name them.
DOWN = "down"  # refused, reset, DNS, 5xx: may work later
TIMEOUT = "timeout"  # no answer in time: may work later
MALFORMED = "malformed"  # an answer we cannot read: wrong content type, broken JSON, fields missing
REFUSED = "refused"  # the system said no (4xx, an error code, a bad signature): will not work as is
TEMPORARY = {DOWN, TIMEOUT}


class ConnectorError(Exception):
    def __init__(self, system: str, reason: str, detail: str = "", status: int | None = None):
        self.system = system
        self.reason = reason
        self.detail = detail
        self.status = status
        super().__init__(f"{system}: {reason}" + (f" ({detail})" if detail else ""))

    @property
    def temporary(self) -> bool:
        return self.reason in TEMPORARY


def call_json(
    system: str,
    method: str,
    url: str,
    *,
    timeout: float,
    json: Any = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    expect: tuple[int, ...] = (200,),
) -> Any:
    """Send one request and return the decoded JSON answer; ``timeout`` bounds the connect
    and each read (seconds). Raises ConnectorError."""
    started = time.monotonic()
    status = None
    try:
        response = requests.request(
            method,
            url,
            json=json,
            data=data,
            headers=headers,
            params=params,
            timeout=timeout,
            allow_redirects=False,
        )
        status = response.status_code
    except requests.Timeout as exc:
        raise ConnectorError(system, TIMEOUT, type(exc).__name__) from exc
    except requests.RequestException as exc:
        raise ConnectorError(system, DOWN, type(exc).__name__) from exc
    finally:
        log.info(
            "connector call",
            extra={
                "system": system,
                "method": method,
                "path": requests.utils.urlparse(url).path,
                "status": status,
                "ms": round((time.monotonic() - started) * 1000, 1),
            },
        )
    if status >= 500 or status in (408, 429):  # the server's trouble, or "not so fast"
        raise ConnectorError(system, DOWN, f"HTTP {status}", status)
    if status not in expect:
        raise ConnectorError(system, REFUSED, f"HTTP {status}", status)
    try:
        return response.json()
    except ValueError as exc:
        raise ConnectorError(system, MALFORMED, "not JSON", status) from exc
