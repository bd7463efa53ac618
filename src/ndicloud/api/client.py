"""CloudClient: one connection pool, authentication, retries and NDI's JSON conventions for every endpoint.

The endpoint modules (``auth``, ``users``, ``datasets``, ``documents``, ``files``, ``compute``) are thin functions
over :meth:`CloudClient.request`; everything that must be the same for all of them lives here:

* the base URL (constructor, else ``NDI_CLOUD_URL`` / ``CLOUD_API_ENVIRONMENT``, else production);
* the token: given, cached, or from a login with the available credentials; refreshed by logging in again when
  it is about to expire or a call answers 401 (once);
* retries of idempotent requests on transport errors, 429 and 5xx; creating POSTs are never repeated blindly;
* JSON bodies with NaN/Infinity as bare tokens, and responses with the cloud's sentinel strings rehydrated.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson

from ..core.jsonio import rehydrate_sentinels
from .environment import base_url_from_environment, normalise_base_url
from .errors import AuthError, CloudError, NotFound, OutcomeUnknown, ServerError, error_for_status
from .retry import RETRY_STATUSES, RetryPolicy
from .tokens import EXPIRY_SKEW_S, CachedLogin, TokenCache, is_token_expired, token_email

log = logging.getLogger("ndicloud.api")

AuthMode = Literal["required", "optional", "none"]
DEFAULT_TIMEOUT = httpx.Timeout(connect=15.0, read=120.0, write=120.0, pool=60.0)
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_UNSET: Any = object()
# Crash testing only: end the process abruptly when this client starts its Nth request, so that tests can
# check that rerunning an interrupted transfer converges. Unset in normal use.
_EXIT_AFTER = int(os.environ.get("NDI_CLOUD_TEST_EXIT_AFTER_REQUESTS", "0") or 0)


def encode_json(value: Any) -> bytes:
    """JSON for a request body, with non-finite numbers as the bare tokens NDI-matlab sends (cloud-api §3.2)."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_json(content: bytes) -> Any:
    """A response body as Python values, the cloud's NaN/Infinity sentinel strings turned back into numbers."""
    if not content.strip():
        return None
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:
        value = json.loads(content)  # bare NaN/Infinity tokens (orjson refuses them); raises ValueError if bad
    return rehydrate_sentinels(value)


def organization_ids(user: Mapping[str, Any] | None) -> list[str] | None:
    """The ids of ``user.organizations`` (one object or a list), or None when the record has none."""
    organizations = (user or {}).get("organizations")
    if isinstance(organizations, dict):
        organizations = [organizations]
    if not isinstance(organizations, list):
        return None
    return [o["id"] for o in organizations if isinstance(o, dict) and isinstance(o.get("id"), str)]


def first_organization_id(user: Mapping[str, Any] | None) -> str | None:
    """The first of ``user.organizations`` (one object or a list, cloud-api §2.3), or None."""
    organizations = (user or {}).get("organizations")
    if isinstance(organizations, dict):
        organizations = [organizations]
    if not isinstance(organizations, list):
        return None
    if len(organizations) > 1:
        log.info("the account belongs to %d organizations; using the first, %s", len(organizations),
                 organizations[0].get("name") if isinstance(organizations[0], dict) else organizations[0])
    for entry in organizations:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            return entry["id"]
    return None


class CloudClient:
    """A session with one NDI Cloud (the hosted service or a local server)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        token: str | None = None,
        organization_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        cache: TokenCache | bool = True,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        create_grace_s: float = 10.0,
        expiry_skew_s: float = EXPIRY_SKEW_S,
        transport: httpx.BaseTransport | None = None,
    ):
        self.base_url = normalise_base_url(base_url) if base_url else base_url_from_environment()
        self.username = username or None
        self._password = password or None
        self._token = token or None
        self._organization_id = organization_id or None
        self.user: dict[str, Any] | None = None
        self.cache: TokenCache | None = TokenCache() if cache is True else (cache or None)
        self.retry = retry or RetryPolicy()
        self.create_grace_s = create_grace_s
        self.expiry_skew_s = expiry_skew_s
        self._created: dict[str, float] = {}
        self.dataset_organizations: dict[str, str] = {}  # dataset id -> owning organization (for F1/F2)
        self.requests = 0  # HTTP requests sent (API and storage), for reports
        self._lock = threading.RLock()
        self.http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                 limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> CloudClient:
        """A client set up from the ``NDI_CLOUD_*`` variables (python-api.md); keyword arguments win."""
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            "base_url": base_url_from_environment(env),
            "token": env.get("NDI_CLOUD_TOKEN") or None,
            "organization_id": env.get("NDI_CLOUD_ORGANIZATION_ID") or None,
            "username": env.get("NDI_CLOUD_USERNAME") or None,
            "password": env.get("NDI_CLOUD_PASSWORD") or None,
        }
        settings.update(overrides)
        return cls(**settings)

    # -- lifetime ------------------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CloudClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        return f"CloudClient({self.base_url!r}, user={self.username or token_email(self._token or '')!r})"

    # -- authentication --------------------------------------------------------------------------------

    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self._password)

    def set_credentials(self, username: str, password: str) -> None:
        with self._lock:
            self.username, self._password = username, password

    def _usable(self, token: str, email: str | None = None) -> bool:
        expired = is_token_expired(token, skew_s=self.expiry_skew_s)
        if expired is None:  # no readable expiry: trust it only when there is no way to log in again
            return not self.has_credentials
        owner = email or token_email(token)
        if self.username and owner and owner.lower() != self.username.lower():
            return False  # a cached token of another account
        return not expired

    def token(self, *, required: bool = True) -> str | None:
        """A token good for the next minute: the current one, the cached one, or a fresh login.

        With ``required=False`` and no way to authenticate, None (the call goes out anonymously).
        """
        with self._lock:
            if self._token and self._usable(self._token):
                return self._token
            cached = self.cache.get(self.base_url) if self.cache else None
            if cached and self._usable(cached.token, cached.email):
                self._token = cached.token
                self._organization_id = self._organization_id or cached.organization_id
                return self._token
            if self.has_credentials:
                self.login()
                return self._token
            if not required:
                return None
            if self._token:
                raise AuthError(f"the NDI Cloud token for {self.base_url} has expired; log in again "
                                "(ndi-cloud login, or set NDI_CLOUD_USERNAME and NDI_CLOUD_PASSWORD)")
            raise AuthError(f"not logged in to {self.base_url}: run `ndi-cloud login`, or set NDI_CLOUD_USERNAME "
                            "and NDI_CLOUD_PASSWORD (or NDI_CLOUD_TOKEN)")

    def login(self, username: str | None = None, password: str | None = None) -> dict[str, Any]:
        """Log in (cloud-api §2.1), keep and cache the token and organization; the ``user`` record."""
        with self._lock:
            if username is not None and password is not None:
                self.set_credentials(username, password)
            if not self.has_credentials:
                raise AuthError("no credentials to log in with: give an e-mail and password, or set "
                                "NDI_CLOUD_USERNAME and NDI_CLOUD_PASSWORD")
            try:
                body = self.json("POST", "/auth/login", json={"email": self.username, "password": self._password},
                                 auth="none", idempotent=True)
            except (AuthError, NotFound) as exc:  # some deployments answer wrong credentials with 404
                raise AuthError(f"login to {self.base_url} as {self.username} failed: {exc.detail or exc}",
                                status=exc.status, method="POST", route="/auth/login") from None
            token = body.get("token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise AuthError(f"login to {self.base_url} answered without a token", method="POST",
                                route="/auth/login")
            user = body.get("user") if isinstance(body.get("user"), dict) else None
            self._token, self.user = token, user
            memberships = organization_ids(user)
            chosen = self._organization_id
            if not chosen or (memberships and chosen not in memberships):  # the caller's choice stays
                self._organization_id = first_organization_id(user) or chosen
            if self.cache:
                self.cache.put(self.base_url, CachedLogin(token, self._organization_id,
                                                          token_email(token) or self.username))
            return user or {}

    def logout(self) -> None:
        """Tell the server (best effort) and forget the token here and in the cache, even if the call fails.

        Credentials given to this client are forgotten too, so it does not silently log in again.
        """
        with self._lock:
            self.username, self._password = None, None
            cached = self.cache.get(self.base_url) if self.cache and not self._token else None
            token = self._token or (cached.token if cached else None)
            self._token, self._organization_id, self.user = None, None, None
            if self.cache:
                self.cache.remove(self.base_url)
        if token:
            try:
                self.request("POST", "/auth/logout", content=b"", auth="none", idempotent=True,
                             headers={"Authorization": f"Bearer {token}"})
            except CloudError as exc:
                log.info("logout was not confirmed by the server: %s", exc)

    def _replace_rejected(self, rejected: str) -> bool:
        """After a 401: whether a different token is now in place to repeat the call with.

        Threads that got a 401 together log in once: the first replaces the token, the others find it replaced.
        """
        with self._lock:
            if self._token and self._token != rejected:
                return True
            self._forget(rejected)
            if not self.has_credentials:
                return False
            self.login()
            return True

    def _forget(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None
            if self.cache:
                cached = self.cache.get(self.base_url)
                if cached and cached.token == token:
                    self.cache.remove(self.base_url)

    @property
    def organization_id(self) -> str:
        """The caller's organization: given, cached, from login, else the first of ``GET /users/me``."""
        if self._organization_id:
            return self._organization_id
        self.token()
        if not self._organization_id:
            self.user = self.json("GET", "/users/me")
            self._organization_id = first_organization_id(self.user)
        if not self._organization_id:
            raise AuthError(f"the account on {self.base_url} belongs to no organization")
        return self._organization_id

    # -- requests --------------------------------------------------------------------------------------

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1
            if _EXIT_AFTER and self.requests >= _EXIT_AFTER:
                os._exit(137)  # as if killed (kill -9): no cleanup, no flushing

    def note_created(self, cloud_id: str) -> None:
        """Remember a just-created id: a 404 reading it in the next ``create_grace_s`` is lag, not absence."""
        now = time.monotonic()
        with self._lock:
            self._created = {k: t for k, t in self._created.items() if now - t < self.create_grace_s}
            self._created[cloud_id] = now

    def _forget_created(self, route: str) -> None:
        with self._lock:
            for part in route.split("/"):
                self._created.pop(part, None)

    def _created_at(self, route: str) -> float | None:
        with self._lock:
            times = [t for part in route.split("/") if (t := self._created.get(part)) is not None]
        return max(times) if times else None

    def request(
        self,
        method: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = _UNSET,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: AuthMode = "required",
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one API request (``route`` relative to the base URL) and return its 2xx response.

        Errors become the :mod:`ndicloud.api.errors` exceptions. ``idempotent`` says whether a failed attempt
        may simply be repeated; by default GET, HEAD, PUT and DELETE may, POST may not.
        """
        method = method.upper()
        repeatable = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        send_headers = {"Accept": "application/json", **(headers or {})}
        if json is not _UNSET:
            content = encode_json(json)
            send_headers.setdefault("Content-Type", "application/json")
        url = self.base_url + route
        attempt = 0
        relogged = False
        lag_wait = 0.25
        while True:
            token = self.token(required=auth == "required") if auth != "none" else None
            if token:
                send_headers["Authorization"] = f"Bearer {token}"
            elif auth != "none":
                send_headers.pop("Authorization", None)
            started = time.perf_counter()
            self.count_request()
            try:
                response = self.http.request(method, url, params=params, content=content, headers=send_headers)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:  # nothing sent: repeatable
                if attempt < self.retry.retries:
                    self.retry.wait(attempt)
                    attempt += 1
                    continue
                raise ServerError(f"{method} {route}: cannot reach {urlsplit(url).netloc} ({exc})",
                                  method=method, route=route) from None
            except httpx.TransportError as exc:
                if repeatable and attempt < self.retry.retries:
                    self.retry.wait(attempt)
                    attempt += 1
                    continue
                if not repeatable:
                    raise OutcomeUnknown(f"{method} {route}: the connection failed after the request was sent "
                                         f"({type(exc).__name__}); it may or may not have taken effect",
                                         method=method, route=route) from None
                raise ServerError(f"{method} {route}: failed after {attempt + 1} attempts "
                                  f"({type(exc).__name__}: {exc})", method=method, route=route) from None
            status = response.status_code
            log.debug("%s %s -> %d (%.0f ms)", method, route, status, (time.perf_counter() - started) * 1000)
            if status < 400:
                if method == "DELETE":  # a 404 after this is the deletion, not read-after-write lag
                    self._forget_created(route)
                return response
            if status == 401 and token and not relogged and self._replace_rejected(token):
                relogged = True
                continue
            if status == 504 and method == "DELETE":
                return response  # counts as done but unconfirmed (cloud-api §8); callers confirm by listing
            if status in RETRY_STATUSES and attempt < self.retry.retries and (repeatable or status == 429):
                self.retry.wait(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            if status == 504 and not repeatable:
                raise OutcomeUnknown(f"{method} {route} -> 504: the service timed out; the request may or may "
                                     "not have taken effect", status=504, method=method, route=route)
            if status == 404 and method in ("GET", "HEAD"):
                created = self._created_at(route)
                if created is not None and time.monotonic() - created < self.create_grace_s:
                    time.sleep(lag_wait)  # read-after-write lag on a fresh create
                    lag_wait = min(2.0, lag_wait * 2)
                    continue
            raise error_for_status(status, method, route, _error_body(response))

    def json(self, method: str, route: str, **kwargs: Any) -> Any:
        """:meth:`request`, then the response body as JSON (None for an empty body)."""
        response = self.request(method, route, **kwargs)
        try:
            return decode_json(response.content)
        except ValueError as exc:
            raise CloudError(f"{method} {route} -> {response.status_code}: the answer is not JSON ({exc})",
                             status=response.status_code, method=method, route=route) from None


def _error_body(response: httpx.Response) -> Any:
    try:
        return decode_json(response.content)
    except ValueError:
        return response.text[:500]


_default: CloudClient | None = None
_default_lock = threading.Lock()


def default_client() -> CloudClient:
    """The process-wide client built from the environment on first use (python-api.md: ``client=`` omitted)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = CloudClient.from_environment()
        return _default


def resolve(client: CloudClient | None) -> CloudClient:
    return client if client is not None else default_client()
