"""Small text rules shared by metadata validation and the deposit builder."""

from __future__ import annotations

import re

_SPACE = re.compile(r"\s+")
# XML 1.0 Char production: anything outside it cannot appear in a document at all
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def collapse_whitespace(text: str) -> str:
    """Trim and turn every run of whitespace into one space."""
    return _SPACE.sub(" ", text).strip()


def xml_forbidden_characters(text: str) -> list[str]:
    """The characters of ``text`` that XML 1.0 forbids, as ``U+XXXX`` (first occurrence of each)."""
    found: list[str] = []
    for match in _XML_FORBIDDEN.finditer(text):
        code = f"U+{ord(match.group()):04X}"
        if code not in found:
            found.append(code)
    return found
