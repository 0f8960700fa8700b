"""Instructure's signing keys, fetched from the JWKS URL and cached.

Canvas rotates its keys monthly and publishes the previous, current and next key, so a cached
JWKS normally knows every `kid` it meets. It is fetched again when it is older than `max_age`,
and once when a token names a `kid` it does not know (the key may have just rotated in); every
fetch is at least `cooldown` seconds after the last attempt, so tokens with junk `kid`s cannot
make the receiver fetch in a loop. A failed fetch keeps the keys already known; with none known,
`JwksUnavailable` (the receiver answers 503, and Canvas delivers again later).

Verification itself is `translator.io.jws.JwksVerifier`'s, with its size limit and issuer allow-list.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from ..errors import TranslatorError
from ..io.jws import CANVAS_JWKS_URL, DEFAULT_ISSUERS, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwksVerifier, JwsRejected
from .logs import log



class JwksUnavailable(TranslatorError):
    """No keys: the JWKS could not be fetched and none was fetched before."""


class FetchNeeded(Exception):
    """`event(..., fetch=False)` would have to fetch the JWKS: call it again where blocking is fine."""


class JwksCache:
    def __init__(
        self,
        url: str = CANVAS_JWKS_URL,
        *,
        leeway: float = DEFAULT_LEEWAY,
        issuers: Iterable[str] | None = DEFAULT_ISSUERS,
        max_bytes: int = DEFAULT_MAX_TOKEN_BYTES,
        max_age: float = 3600.0,
        cooldown: float = 60.0,
        timeout: float = 5.0,
        on_fetch: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.options: dict[str, Any] = {"leeway": leeway, "issuers": issuers, "max_bytes": max_bytes}
        self.max_age = max_age
        self.cooldown = cooldown
        self.timeout = timeout
        self._on_fetch = on_fetch
        self._verifier: JwksVerifier | None = None
        self._fetched = self._attempted = float("-inf")
        self._lock = threading.Lock()

    def event(self, token: str, *, fetch: bool = True) -> dict[str, Any]:
        """The event of a verified `token`; raises `JwsRejected`, `JwksUnavailable`, or, with
        `fetch=False`, `FetchNeeded` instead of blocking on the network."""
        verifier = self._verifier
        if verifier is None or (time.monotonic() - self._fetched >= self.max_age and self._may_fetch()):
            if not fetch:
                raise FetchNeeded
            verifier = self.refresh()
        try:
            return verifier.event(token)
        except JwsRejected as exc:
            if exc.rule != "unknown-kid" or not self._may_fetch():
                raise
        if not fetch:
            raise FetchNeeded
        return self.refresh().event(token)

    def refresh(self) -> JwksVerifier:
        """Fetch the JWKS (unless another fetch happened within the cooldown); the keys to use."""
        with self._lock:
            if not self._may_fetch():
                if self._verifier is None:
                    raise JwksUnavailable(f"the JWKS {self.url} could not be fetched; next try within {self.cooldown:g} s")
                return self._verifier
            self._attempted = time.monotonic()
            try:
                response = httpx.get(self.url, timeout=self.timeout, follow_redirects=True)
                response.raise_for_status()
                verifier = JwksVerifier(response.json(), **self.options)
            except (httpx.HTTPError, ValueError) as exc:  # ValueError: not JSON, or TranslatorError: no usable key
                self._fetched_event("failed")
                log(logging.WARNING, "JWKS fetch failed", url=self.url, error=str(exc))
                if self._verifier is None:
                    raise JwksUnavailable(f"cannot fetch the JWKS {self.url}: {exc}") from None
                return self._verifier
            self._fetched_event("ok")
            log(logging.INFO, "JWKS fetched", url=self.url, kids=sorted(verifier.keys))
            self._verifier, self._fetched = verifier, self._attempted
            return verifier

    def _may_fetch(self) -> bool:
        return time.monotonic() - self._attempted >= self.cooldown

    def _fetched_event(self, outcome: str) -> None:
        if self._on_fetch is not None:
            self._on_fetch(outcome)
