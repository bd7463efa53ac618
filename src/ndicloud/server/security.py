"""Passwords (scrypt) and tokens (HS256 JWTs with sub, email, iat, exp; revocable)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import jwt

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_SECRET_FILE = "server-secret.key"


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: ``scrypt$n$r$p$salt$hash``."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    parts = ("scrypt", str(_SCRYPT["n"]), str(_SCRYPT["r"]), str(_SCRYPT["p"]),
             base64.b64encode(salt).decode(), base64.b64encode(digest).decode())
    return "$".join(parts)


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), dklen=len(expected),
                                n=int(n), r=int(r), p=int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def load_or_create_secret(data_dir: Path) -> bytes:
    """The server's signing secret, generated once and kept (mode 0600) in the data directory."""
    path = data_dir / _SECRET_FILE
    if path.exists():
        return path.read_bytes()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secret)
    return secret


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    email: str
    token_id: str
    expires: int


class TokenService:
    """Issues and checks HS256 tokens. Checking is the signature, the expiry and the revocation list."""

    def __init__(self, secret: bytes, ttl_s: int):
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, user_id: str, email: str) -> str:
        now = int(time.time())
        claims = {"sub": user_id, "email": email, "iat": now, "exp": now + self.ttl_s, "jti": secrets.token_hex(12)}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def decode(self, token: str) -> TokenClaims:
        """Claims of a valid token; raises ``jwt.PyJWTError`` for a bad signature, expiry or shape."""
        claims = jwt.decode(token, self._secret, algorithms=["HS256"], options={"require": ["sub", "exp", "iat"]})
        return TokenClaims(str(claims["sub"]), str(claims.get("email", "")), str(claims.get("jti", "")),
                           int(claims["exp"]))
