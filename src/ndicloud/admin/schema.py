"""The Crossref 5.3.1 XSD, compiled offline from a local folder, and its errors in plain lines (doi.md §3.9).

The folder keeps Crossref's layout (the JATS module imports by relative path). The only remote import, MathML 3,
is mapped to ``standard-modules/mathml3/mathml3.xsd``; any other remote location is refused rather than fetched,
and the parser runs with ``no_network``. Compiling takes seconds, so each folder is compiled once per process.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lxml import etree

from .errors import SchemaUnavailable
from .namespaces import shorten_uris
from .settings import schema_directory

ENTRY = "crossref5.3.1.xsd"
MATHML_URL = "http://www.w3.org/Math/XMLSchema/mathml3/mathml3.xsd"
MATHML_LOCAL = Path("standard-modules") / "mathml3" / "mathml3.xsd"
_REMOTE = ("http://", "https://", "ftp://")

_cache: dict[Path, etree.XMLSchema] = {}
_lock = threading.Lock()


class _OfflineResolver(etree.Resolver):
    """Maps the MathML import to the local copy and refuses every other remote location (noting it)."""

    def __init__(self, folder: Path):
        super().__init__()
        self.folder = folder
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        if system_url == MATHML_URL:
            return self.resolve_filename(str(self.folder / MATHML_LOCAL), context)
        if system_url and system_url.lower().startswith(_REMOTE):
            self.refused.append(system_url)
            return self.resolve_string("", context)  # an empty document: the import fails, nothing is fetched
        return None


def compile_schema(folder: Path) -> etree.XMLSchema:
    """Compile ``folder/crossref5.3.1.xsd`` without any network access (uncached).

    A schema that imports from a remote location other than MathML's is refused, naming the location.
    """
    resolver = _OfflineResolver(folder)
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(resolver)
    try:
        schema = etree.XMLSchema(etree.parse(str(folder / ENTRY), parser))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        problem: str = str(exc)
    else:
        problem = ""
    if resolver.refused:
        problem = (f"it imports {', '.join(sorted(set(resolver.refused)))}, which is not fetched from the network; "
                   f"put a local copy in the schema folder and import that")
    if problem:
        raise SchemaUnavailable(f"cannot compile the Crossref schema in {folder}: {problem}")
    return schema


def load_schema(schema_dir: str | Path | None = None) -> etree.XMLSchema:
    """The compiled Crossref schema of ``schema_dir`` (default ``CROSSREF_SCHEMA_DIR``), compiled once per folder."""
    folder = schema_directory(schema_dir)
    with _lock:
        schema = _cache.get(folder)
        if schema is None:
            schema = _cache[folder] = compile_schema(folder)
        return schema


def _element_of(message: str) -> tuple[str, str]:
    """Split libxml2's ``Element '{uri}name': reason`` (or ``..., attribute 'x': reason``) into parts."""
    if message.startswith("Element '"):
        end = message.find("': ")
        if end > 0:
            return message[len("Element '"):end], message[end + 3:]
    return "", message


def schema_errors(document: etree._ElementTree, schema: etree.XMLSchema) -> list[str]:
    """Every XSD error of ``document`` as ``line N: <element>: <reason>`` with namespace prefixes shortened."""
    if schema.validate(document):
        return []
    lines = []
    for entry in schema.error_log:
        element, reason = _element_of(entry.message)
        element = shorten_uris(element)
        reason = shorten_uris(reason).rstrip(".")
        lines.append(f"line {entry.line}: {element}: {reason}" if element else f"line {entry.line}: {reason}")
    return lines
