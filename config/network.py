"""The client's address, as rate limits must see it.

Behind the TLS proxy (BEHIND_TLS_PROXY), the proxy appends the client's address to
X-Forwarded-For; only the last hop is the proxy's own word, anything before it came from
the client. Without the proxy, REMOTE_ADDR is the client. With neither (a unix socket),
every request shares one bucket rather than failing.
"""

import ipaddress

from django.conf import settings


def client_ip(request) -> str:
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR") or "unknown"


def client_address(request) -> str | None:
    """``client_ip`` as a valid IP address for a GenericIPAddressField, or None (a unix
    socket, or a proxy header that is not an address)."""
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None
