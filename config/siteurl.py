"""The site's own address (settings.MOTCUA["SITE_URL"]): what links in messages, the
papers' QR codes and e-mails sent by workers (which have no request) start with.

A deployment sets MOTCUA_SITE_URL (`check --deploy` fails without it, config.checks).
`make run PORT=N` serves http://HOST:N/ and says so in MOTCUA_SERVED_AT=HOST:N, for every
process it starts (the server, the periodic jobs, the papers' renderer): links then point
at the port served, not at runserver's default.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

# runserver's own default address.
DEFAULT = "http://127.0.0.1:8000"
# An address a server listens on but a browser cannot open: the same machine's loopback.
_WILDCARDS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "[::]": "[::1]", "": "127.0.0.1"}  # noqa: S104


def url_for_address(address: str) -> str:
    """`HOST:PORT` (or `PORT`, as runserver takes it) as a browser opens it."""
    address = address.strip()
    host, _, port = address.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"not an address with a port: {address!r}")
    host = _WILDCARDS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # a bare IPv6 address
    return f"http://{host}:{int(port)}" if int(port) != 80 else f"http://{host}"


def site_url(environ: Mapping[str, str]) -> str:
    """MOTCUA_SITE_URL when set; else the address `make run` serves (MOTCUA_SERVED_AT);
    else runserver's default."""
    explicit = environ.get("MOTCUA_SITE_URL", "").strip()
    if explicit:
        return explicit.rstrip("/")
    served = environ.get("MOTCUA_SERVED_AT", "").strip()
    if served:
        return url_for_address(served)
    return DEFAULT


def problem(url: str) -> str | None:
    """Why `url` cannot start the site's links, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "it is not a URL"
    if parts.scheme not in ("http", "https"):
        return "it must start with https:// (or http://)"
    if not parts.hostname:
        return "it names no host"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "it must be the scheme and host only (and a port), with no path"
    if parts.username or parts.password:
        return "it must not carry a user name or password"
    return None
