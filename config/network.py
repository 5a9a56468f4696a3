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


# --- Addresses we may connect to on a client's word (webhook callbacks) --------------------


class UnsafeAddress(ValueError):
    """A host that resolves to an address outside the public internet."""


def is_public_address(address: str) -> bool:
    """False for loopback, private, link-local, multicast, reserved, unspecified and
    shared (CGNAT) addresses, IPv4 and IPv6, an IPv4 address inside IPv6 included
    (``::ffff:127.0.0.1``, 6to4, Teredo): what a server-side request must never reach on
    an outsider's say-so (cloud metadata at 169.254.169.254, the admin on localhost)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None and not is_public_address(str(embedded)):
            return False
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_public(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all of them public, or UnsafeAddress (one
    private answer is enough to refuse: a name that also points inside is not trusted)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeAddress(f"{host} does not resolve") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeAddress(f"{host} does not resolve")
    for address in addresses:
        if not is_public_address(address):
            raise UnsafeAddress(f"{host} resolves to {address}, which is not public")
    return addresses
