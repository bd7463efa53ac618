"""Local validation of deposit XML: our pre-checks, then the Crossref XSD, offline; nothing is sent before it
passes (doi.md §3.9)."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..metadata import Issue
from ..metadata.issues import errors_of, warnings_of
from .errors import DepositValidationError
from .prechecks import precheck_deposit
from .schema import load_schema, schema_errors


def parse_deposit(xml: bytes) -> etree._ElementTree:
    """Parse deposit XML without network access or entity expansion (line numbers kept for messages)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, remove_blank_text=False)
    try:
        return etree.ElementTree(etree.fromstring(xml, parser))
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno is not None else "?"
        raise DepositValidationError([f"line {line}: not well-formed XML: {exc.msg}"]) from None


def validate_deposit(xml: bytes, *, schema_dir: str | Path | None = None) -> list[Issue]:
    """Check deposit XML; raise :class:`DepositValidationError` listing every pre-check and XSD error (one
    plain line each), else return the pre-check warnings. The XSD comes from ``schema_dir`` or
    ``CROSSREF_SCHEMA_DIR``."""
    schema = load_schema(schema_dir)
    document = parse_deposit(xml)
    findings = precheck_deposit(document.getroot())
    errors = [str(issue) for issue in errors_of(findings)]
    errors += schema_errors(document, schema)
    if errors:
        raise DepositValidationError(errors)
    return warnings_of(findings)
