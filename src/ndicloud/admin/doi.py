"""NDI Cloud dataset DOIs: minting, recognising, and where a DOI resolves to (doi.md §2.1-§2.2).

A DOI is ``10.63884/ndic.<UTC year>.<8 characters from a-z0-9>``, drawn with :mod:`secrets` (the operating
system's entropy), so processes started together never share a random stream.
"""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime, timezone

from .constants import DATASET_RESOURCE_BASE, DOI_PREFIX

ALPHABET = string.ascii_lowercase + string.digits
SUFFIX_LENGTH = 8
NDI_DOI = re.compile(r"^10\.63884/ndic\.[0-9]{4}\.[a-z0-9]{8}$")
_CLOUD_ID = re.compile(r"^[0-9a-fA-F]{24}$")


def mint_doi(*, year: int | None = None) -> str:
    """A fresh dataset DOI for ``year`` (default: the current UTC year)."""
    year = datetime.now(timezone.utc).year if year is None else year
    if not 1000 <= year <= 9999:
        raise ValueError(f"year {year} does not have four digits")
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(SUFFIX_LENGTH))
    return f"{DOI_PREFIX}/ndic.{year}.{suffix}"


def create_new_doi() -> str:
    """NDI-matlab's ``createNewDOI``: a fresh dataset DOI for this year."""
    return mint_doi()


def is_ndi_doi(value: object) -> bool:
    """True for a bare DOI in the NDI Cloud dataset format."""
    return isinstance(value, str) and bool(NDI_DOI.match(value))


def dataset_resource_url(dataset_id: str) -> str:
    """The landing page a dataset DOI resolves to."""
    if not isinstance(dataset_id, str) or not _CLOUD_ID.match(dataset_id):
        raise ValueError(f"dataset id {dataset_id!r} is not a 24-hex NDI Cloud id")
    return DATASET_RESOURCE_BASE + dataset_id
