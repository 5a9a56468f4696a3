"""API keys: made, hashed and checked here only."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX_BYTES = 6  # 12 hex characters, stored in clear
SECRET_BYTES = 32  # 256 random bits, never stored


def make_key() -> tuple[str, str, str]:
    """(key, prefix, hash): the key is given to the client once; prefix and hash are kept."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    key = f"mc_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def prefix_of(key: str) -> str | None:
    parts = key.split("_")
    if len(parts) < 3 or parts[0] != "mc" or len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
