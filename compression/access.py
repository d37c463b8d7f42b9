"""Who may do what: the presenter key, checked in constant time.

The server holds a secret (COMPRESSION_LAB_PRESENTER_KEY). A visitor who types it becomes the presenter
for their session: they may reset the quiz room, cancel any job and pin the room's run. When no key is
configured, only a visitor on the server's own machine (loopback address) is the presenter.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

__all__ = ["is_loopback", "is_visitor_token", "new_visitor_token", "presenter_key_matches", "visitor_name"]


def presenter_key_matches(candidate: str | None, configured: str | None) -> bool:
    """True when a key is configured and `candidate` equals it (constant-time comparison)."""
    if not configured or not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), configured.encode("utf-8"))


def is_loopback(address: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses; False for anything else or None."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


# --- Visitors ------------------------------------------------------------------------------------------------
# A visitor's browser keeps a random secret (a cookie). The server names the visitor by a hash of it, so the
# name (stored as a job's owner, shown on a projector) never reveals the secret that proves it.
VISITOR_TOKEN_BYTES = 24
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def new_visitor_token() -> str:
    """A fresh random visitor secret: 24 random bytes, URL-safe base64 (32 characters, 192 bits)."""
    return secrets.token_urlsafe(VISITOR_TOKEN_BYTES)


def is_visitor_token(value: object) -> bool:
    """True for a string that looks like `new_visitor_token()`'s output (URL-safe base64, 32 to 64 characters)."""
    return isinstance(value, str) and 32 <= len(value) <= 64 and set(value) <= _TOKEN_ALPHABET


def visitor_name(token: str) -> str:
    """The visitor's public name: "v" + the first 16 hex digits of sha256(token). Not reversible to the token."""
    return "v" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
