"""Identifiers in dataset records: ORCID iDs, DOIs, PubMed and PubMed Central ids (doi.md §2.3, §3.4, §5.3).

Each ``normalize_*`` returns the one form we write and raises ``ValueError`` saying why a value is refused; the
message never names the field, so callers can prefix the field path they are checking.
"""

from __future__ import annotations

import re

ORCID_URL = "https://orcid.org/"
DOI_URL = "https://doi.org/"

_ORCID_BODY = re.compile(r"^([0-9]{4})-([0-9]{4})-([0-9]{4})-([0-9]{3})([0-9Xx])$")
_ORCID_PREFIXES = ("https://orcid.org/", "http://orcid.org/", "orcid.org/")
# the legacy malformed form first, so that its "//" is not left behind by the plain https prefix
_DOI_PREFIXES = ("https://doi.org://", "https://doi.org/", "http://doi.org/", "https://dx.doi.org/",
                 "http://dx.doi.org/", "doi:")
_BARE_DOI = re.compile(r"^10\.[0-9]{4,9}/\S{1,200}$")
_PMID = re.compile(r"^[0-9]{1,9}$")
_PMCID = re.compile(r"^PMC[0-9]+$", re.IGNORECASE)

ORCID_EXAMPLE = "0000-0002-1825-0097"


def orcid_check_character(digits: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 15 digits of an ORCID iD (``0``-``9`` or ``X``)."""
    total = 0
    for digit in digits:
        total = (total + int(digit)) * 2
    remainder = (12 - total % 11) % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_orcid(value: object) -> str:
    """The ``https://orcid.org/dddd-dddd-dddd-dddC`` form of an ORCID iD given bare or as a URL.

    Accepts ``dddd-dddd-dddd-dddC`` (C a digit, ``X`` or ``x``), ``https://orcid.org/…``, ``http://orcid.org/…``
    and ``orcid.org/…``; the check character must be right.
    """
    if not isinstance(value, str):
        raise ValueError(f"an ORCID iD is text such as {ORCID_EXAMPLE}, not {type(value).__name__}")
    text = value.strip()
    lowered = text.lower()
    for prefix in _ORCID_PREFIXES:
        if lowered.startswith(prefix):
            text = text[len(prefix):]
            break
    match = _ORCID_BODY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not an ORCID iD; write it as {ORCID_EXAMPLE} or {ORCID_URL}{ORCID_EXAMPLE}")
    body = text.upper()
    digits = "".join(match.groups()[:4])
    if orcid_check_character(digits) != body[-1]:
        raise ValueError(f'check character is wrong in "{value.strip()}"; re-copy the iD from orcid.org')
    return ORCID_URL + body


def strip_doi_prefix(value: str) -> str:
    """The DOI without a leading ``doi:`` or doi.org / dx.doi.org URL prefix (case-insensitive), trimmed."""
    text = value.strip()
    lowered = text.lower()
    for prefix in _DOI_PREFIXES:
        if lowered.startswith(prefix):
            return text[len(prefix):].strip()
    return text


def normalize_doi(value: object) -> str:
    """The bare DOI (``10.NNNN/suffix``) of a value given bare, as ``doi:…`` or as a doi.org URL."""
    if not isinstance(value, str):
        raise ValueError(f"a DOI is text such as 10.1000/xyz123, not {type(value).__name__}")
    bare = strip_doi_prefix(value)
    if not _BARE_DOI.match(bare):
        raise ValueError(f"{value!r} is not a DOI; write it as 10.<4-9 digits>/<suffix> or {DOI_URL}10.…")
    return bare


def is_bare_doi(value: str) -> bool:
    """True for a DOI without any prefix (what Crossref's ``doi`` relations take)."""
    return bool(_BARE_DOI.match(value))


def doi_url(value: str) -> str:
    """The ``https://doi.org/<bare DOI>`` form we store on a dataset."""
    return DOI_URL + normalize_doi(value)


def normalize_pmid(value: object) -> str:
    """A PubMed id as 1-9 digits (a whole number is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _PMID.match(value.strip()):
        raise ValueError(f"{value!r} is not a PubMed id; give its 1-9 digits, e.g. 31452104")
    return value.strip()


def normalize_pmcid(value: object) -> str:
    """A PubMed Central id as ``PMC`` and digits (any case in, upper case out)."""
    if not isinstance(value, str) or not _PMCID.match(value.strip()):
        raise ValueError(f"{value!r} is not a PubMed Central id; write it as PMC and digits, e.g. PMC6704281")
    return "PMC" + value.strip()[3:]
