"""Presigned storage URLs: absolute, outside /v1, HMAC-SHA256 over method class, key, expiry and a nonce
(cloud-api §10.4). The nonce makes each URL distinct, so the server can tell a used upload URL from a new one."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from urllib.parse import quote

STORAGE_PREFIX = "/storage"


class Presigner:
    """Signs and checks storage URLs with a key derived from the server secret."""

    def __init__(self, secret: bytes, base_url: str, ttl_s: int):
        self._key = hmac.new(secret, b"ndi-cloud presigned storage URLs", hashlib.sha256).digest()
        self.base_url = base_url.rstrip("/")
        self.ttl_s = ttl_s

    def _signature(self, method: str, key: str, expires: int, nonce: str) -> str:
        message = f"{method}\n{key}\n{expires}\n{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def expiry(self, ttl_s: int | None = None) -> int:
        """When a URL made now expires (Unix seconds)."""
        # Rounded up: a URL lives at least its ttl (rounding down cut up to a second off a short one).
        return math.ceil(time.time() + (self.ttl_s if ttl_s is None else ttl_s))

    def url(self, method: str, key: str, ttl_s: int | None = None, *, expires: int | None = None) -> str:
        """A URL allowing ``method`` (PUT or GET; GET also allows HEAD) on ``key`` until it expires (at
        ``expires`` when given, e.g. the expiry recorded for the upload the URL belongs to)."""
        expires = self.expiry(ttl_s) if expires is None else expires
        nonce = secrets.token_hex(8)
        signature = self._signature(method, key, expires, nonce)
        return f"{self.base_url}{STORAGE_PREFIX}/{quote(key)}?expires={expires}&nonce={nonce}&signature={signature}"

    def check(self, method: str, key: str, expires: str | None, signature: str | None,
              nonce: str | None = None) -> str | None:
        """None when the request is allowed, else the reason it is not."""
        method_class = "GET" if method == "HEAD" else method
        if not expires or not signature or not expires.isdigit():
            return "Request is not signed"
        if not hmac.compare_digest(self._signature(method_class, key, int(expires), nonce or ""), signature):
            return "The request signature does not match"
        if int(expires) < time.time():
            return "Request has expired"
        return None
