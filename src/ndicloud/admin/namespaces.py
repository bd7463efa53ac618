"""XML namespaces of a Crossref 5.3.1 deposit, and their conventional prefixes (doi.md §3.1)."""

from __future__ import annotations

CROSSREF = "http://www.crossref.org/schema/5.3.1"
FUNDREF = "http://www.crossref.org/fundref.xsd"
ACCESS = "http://www.crossref.org/AccessIndicators.xsd"
RELATIONS = "http://www.crossref.org/relations.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

NSMAP: dict[str | None, str] = {None: CROSSREF, "fr": FUNDREF, "ai": ACCESS, "rel": RELATIONS, "xsi": XSI}
SCHEMA_LOCATION = f"{CROSSREF} https://www.crossref.org/schemas/crossref5.3.1.xsd"
PREFIXES = {CROSSREF: "", FUNDREF: "fr:", ACCESS: "ai:", RELATIONS: "rel:", XSI: "xsi:"}


def short_name(tag: str) -> str:
    """``{uri}local`` as ``local`` (Crossref's own namespace) or ``fr:``/``ai:``/``rel:`` + ``local``."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return PREFIXES.get(uri, f"{{{uri}}}") + local
    return tag


def shorten_uris(text: str) -> str:
    """A message with every ``{uri}`` of a deposit namespace replaced by its prefix."""
    for uri, prefix in PREFIXES.items():
        text = text.replace(f"{{{uri}}}", prefix)
    return text
