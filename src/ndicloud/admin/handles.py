"""Is a DOI already registered? A look-up in the DOI handle system before a fresh DOI is deposited (doi.md §2.1).

Depositing a DOI that exists would overwrite its record, so a freshly minted DOI that the handle system already
knows is drawn again. The resolver is ``https://doi.org`` unless ``DOI_RESOLVER_URL`` or an argument says otherwise.
"""

from __future__ import annotations

import os

import httpx

RESOLVER_VAR = "DOI_RESOLVER_URL"
DEFAULT_RESOLVER = "https://doi.org"


def resolver_url(url: str | None = None) -> str:
    return (url or os.environ.get(RESOLVER_VAR) or DEFAULT_RESOLVER).rstrip("/")


def doi_exists(doi: str, *, resolver: str | None = None, timeout: float = 10.0) -> bool | None:
    """True when the handle system knows ``doi``, False when it does not, None when it cannot tell."""
    try:
        response = httpx.get(f"{resolver_url(resolver)}/api/handles/{doi}", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code == 404:
        return False
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return isinstance(body, dict) and body.get("responseCode") == 1
