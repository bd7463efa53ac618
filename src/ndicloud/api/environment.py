"""Which NDI Cloud to talk to (cloud-api §1): ``NDI_CLOUD_URL``, else ``CLOUD_API_ENVIRONMENT``, else production."""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

from .errors import ConfigurationError

ENVIRONMENTS = {
    "prod": "https://api.ndi-cloud.com/v1",
    "dev": "https://dev-api.ndi-cloud.com/v1",
}


def normalise_base_url(url: str) -> str:
    """The base URL without a trailing slash; refuses anything that is not an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"NDI Cloud base URL {url!r} is not an http(s) URL (expected e.g. "
                                 f"{ENVIRONMENTS['prod']})")
    return url.strip().rstrip("/")


def base_url_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The API base URL the environment selects; an unknown environment name is an error naming the allowed ones."""
    env = os.environ if environ is None else environ
    explicit = env.get("NDI_CLOUD_URL", "").strip()
    if explicit:
        return normalise_base_url(explicit)
    name = env.get("CLOUD_API_ENVIRONMENT", "").strip() or "prod"
    if name not in ENVIRONMENTS:
        raise ConfigurationError(f"CLOUD_API_ENVIRONMENT={name!r} is not known; use one of "
                                 f"{', '.join(sorted(ENVIRONMENTS))} (or set NDI_CLOUD_URL)")
    return ENVIRONMENTS[name]
