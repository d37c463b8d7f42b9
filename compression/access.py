"""Who may do what: the presenter key, checked in constant time.

The server holds a secret (COMPRESSION_LAB_PRESENTER_KEY). A visitor who types it becomes the presenter
for their session: they may reset the quiz room, cancel any job and pin the room's run. When no key is
configured, only a visitor on the server's own machine (loopback address) is the presenter.
"""

from __future__ import annotations

import hmac
import ipaddress

__all__ = ["is_loopback", "presenter_key_matches"]


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
