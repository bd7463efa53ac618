"""Reading NDI Cloud tokens locally, and keeping them between runs.

Clients never check a token's signature (the server does); they read its payload to learn when it expires and
whose it is (cloud-api §2.2). Tokens are cached per base URL in a file only the user can read.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.syncindex import write_json_atomically

try:
    import fcntl
except ImportError:  # Windows: the thread lock still serialises writers within one process
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("ndicloud.api")

EXPIRY_SKEW_S = 60  # a token this close to its exp counts as expired (the reference's rule)
CACHE_FILE = "tokens.json"


def decode_jwt(token: str) -> dict[str, Any] | None:
    """The payload of a JWT (its second part, base64url), or None when it cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def get_token_expiration(token: str) -> float | None:
    """The token's ``exp`` in POSIX seconds, or None when it has none."""
    claims = decode_jwt(token)
    exp = claims.get("exp") if claims else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


def token_email(token: str) -> str | None:
    claims = decode_jwt(token)
    email = claims.get("email") if claims else None
    return email if isinstance(email, str) else None


def is_token_expired(token: str, *, now: float | None = None, skew_s: float = EXPIRY_SKEW_S) -> bool | None:
    """True when ``now >= exp - skew``; None when the token has no readable expiry."""
    exp = get_token_expiration(token)
    if exp is None:
        return None
    return (time.time() if now is None else now) >= exp - skew_s


def config_dir() -> Path:
    """Where ndi-cloud keeps per-user state: ``NDI_CLOUD_CONFIG_DIR``, else the platform's config folder."""
    explicit = os.environ.get("NDI_CLOUD_CONFIG_DIR")
    if explicit:
        return Path(explicit)
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "ndi-cloud"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ndi-cloud"


@dataclass(frozen=True)
class CachedLogin:
    token: str
    organization_id: str | None
    email: str | None


_cache_lock = threading.Lock()


class TokenCache:
    """Tokens by base URL in one JSON file, created with mode 0600 (its folder 0700), replaced atomically.

    Updates are read-modify-write under a lock (threads) and a lock file (processes), and best effort: a
    cache that cannot be written costs a login next time, never the current call.
    """

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else config_dir() / CACHE_FILE

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _cache_lock:
            fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):  # unreadable or damaged: behave as empty, the next save replaces it
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, base_url: str) -> CachedLogin | None:
        entry = self._read().get(base_url)
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        return CachedLogin(entry["token"], entry.get("organizationId"), entry.get("email"))

    def put(self, base_url: str, login: CachedLogin) -> None:
        entry = {"token": login.token, "organizationId": login.organization_id, "email": login.email}
        self._update(lambda data: data.__setitem__(base_url, entry))

    def remove(self, base_url: str) -> None:
        self._update(lambda data: data.pop(base_url, None))

    def _update(self, change: Callable[[dict[str, Any]], object]) -> None:
        try:
            with self._exclusive():
                data = self._read()
                change(data)
                write_json_atomically(self.path, data, indent=2)  # mode 0600
        except OSError as exc:
            log.warning("could not update the token cache %s: %s", self.path, exc)

