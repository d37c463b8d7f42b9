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
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

__all__ = [
    "KeyCheck",
    "KeyGuessLimiter",
    "PresenterKeyGate",
    "is_loopback",
    "is_visitor_token",
    "new_visitor_token",
    "presenter_key_matches",
    "visitor_name",
]


def presenter_key_matches(candidate: str | None, configured: str | None) -> bool:
    """True when a key is configured and `candidate` equals it (constant-time comparison)."""
    if not configured or not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), configured.encode("utf-8"))


class KeyGuessLimiter:
    """Wrong presenter keys, counted per guesser (a visitor, or a network address: the pages keep one limiter
    of each, so clearing the cookie does not reset the count): after `limit` wrong keys within `window_s`,
    that guesser must wait until the oldest one ages out. Thread-safe; shared by the server's sessions."""

    def __init__(self, limit: int = 5, window_s: float = 300.0, keep: int = 10_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.keep = keep
        self._lock = threading.Lock()
        self._wrong: dict[str, deque[float]] = {}

    def _recent(self, who: str, now: float) -> deque[float]:
        times = self._wrong.get(who, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        return times

    def wait_s(self, guessers: Iterable[str | None], now: float | None = None) -> float:
        """Seconds before any of `guessers` may try another key; 0 when they may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = [
                self.window_s - (now - times[0])
                for who in guessers
                if who and len(times := self._recent(who, now)) >= self.limit
            ]
        return max(waits, default=0.0)

    def record_wrong(self, guessers: Iterable[str | None], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for who in guessers:
                if who:
                    times = self._recent(who, now)
                    times.append(now)
                    self._wrong.pop(who, None)
                    self._wrong[who] = times  # most recent last: the least recent are forgotten first
            while len(self._wrong) > self.keep:
                self._wrong.pop(next(iter(self._wrong)))


class KeyCheck(NamedTuple):
    """The outcome of one presenter key guess (PresenterKeyGate.check)."""

    accepted: bool  # the right key: always accepted, whatever the wrong-guess counts
    refused_by: str | None = None  # "browser" or "network" when a wrong guess was refused by that limit
    wait_s: float = 0.0  # seconds before that limit allows another wrong guess

    @property
    def message_key(self) -> str | None:
        """The catalogue key (compression/i18n) of the refusal's text, formatted with `seconds`; None if not refused."""
        return {"browser": "presenter.too_many", "network": "presenter.too_many_network"}.get(self.refused_by or "")


class PresenterKeyGate:
    """Checks presenter key guesses. The right key always works: it is compared before any limit, so wrong
    guesses from other browsers behind the same network address (a classroom NAT, a proxy) never lock the
    presenter out. Only wrong guesses are limited: `per_visitor` per browser within `window_s`, and a much
    higher `per_address` per network address as a backstop against a script that drops its cookie."""

    def __init__(
        self, per_visitor: int = 5, per_address: int = 200, window_s: float = 300.0, keep: int = 10_000
    ) -> None:
        self.by_visitor = KeyGuessLimiter(limit=per_visitor, window_s=window_s, keep=keep)
        self.by_address = KeyGuessLimiter(limit=per_address, window_s=window_s, keep=keep)

    def check(
        self,
        candidate: str | None,
        configured: str | None,
        visitor: str | None,
        address: str | None,
        now: float | None = None,
    ) -> KeyCheck:
        """Accept the right key; refuse a wrong one past a limit (the browser's first); else count it."""
        if presenter_key_matches(candidate, configured):
            return KeyCheck(accepted=True)
        now = time.monotonic() if now is None else now
        if (wait := self.by_visitor.wait_s([visitor], now=now)) > 0:
            return KeyCheck(accepted=False, refused_by="browser", wait_s=wait)
        if (wait := self.by_address.wait_s([address], now=now)) > 0:
            return KeyCheck(accepted=False, refused_by="network", wait_s=wait)
        self.by_visitor.record_wrong([visitor], now=now)
        self.by_address.record_wrong([address], now=now)
        return KeyCheck(accepted=False)


class PresenterGrants:
    """Presenter mode kept for a browser across reloads and tabs, the way its cookie keeps run ownership.

    Typing the right key grants it to the visitor (the hash of the browser's secret cookie,
    `visitor_name`); the grant lasts `ttl_s` (a teaching day) or until the visitor leaves presenter mode, and
    holds only while the server's key is the one it was granted under (a changed key revokes every grant)."""

    def __init__(self, ttl_s: float = 12 * 3600.0, keep: int = 1000) -> None:
        self.ttl_s = ttl_s
        self.keep = keep
        self._grants: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _fingerprint(key: str) -> str:
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    def grant(self, visitor: str, configured: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._grants[visitor] = (now + self.ttl_s, self._fingerprint(configured))
            if len(self._grants) > self.keep:  # drop the oldest
                for name, _ in sorted(self._grants.items(), key=lambda kv: kv[1][0])[: len(self._grants) - self.keep]:
                    self._grants.pop(name, None)

    def holds(self, visitor: str | None, configured: str | None, now: float | None = None) -> bool:
        if not visitor or not configured:
            return False
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._grants.get(visitor)
            if entry is None:
                return False
            expires, fingerprint = entry
            if now >= expires or not hmac.compare_digest(fingerprint, self._fingerprint(configured)):
                self._grants.pop(visitor, None)
                return False
            return True

    def revoke(self, visitor: str | None) -> None:
        with self._lock:
            self._grants.pop(visitor or "", None)


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
