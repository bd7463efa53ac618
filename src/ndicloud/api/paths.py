"""Building request paths safely: every part checked and percent-encoded as a whole segment (cloud-api §1)."""

from __future__ import annotations

import re
from urllib.parse import quote

from .errors import InvalidArgument

_CLOUD_ID = re.compile(r"^[0-9a-f]{24}$")
_FILE_UID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def route(*segments: str) -> str:
    """``/a/b/c`` from the segments; an empty or non-string part is refused before anything is sent."""
    for segment in segments:
        if not isinstance(segment, str) or not segment:
            raise InvalidArgument(f"empty path part in /{'/'.join(map(str, segments))}")
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def cloud_id(value: object, what: str = "cloud id") -> str:
    """``value`` when it is a cloud id (24 lower-case hex digits), else InvalidArgument naming ``what``."""
    if isinstance(value, str) and _CLOUD_ID.match(value):
        return value
    raise InvalidArgument(f"{what} {value!r} is not a cloud id (24 lower-case hexadecimal digits, "
                          "e.g. 68c05864f81ed200dc9a7e5c)")


def cloud_ids(values: object, what: str = "document id") -> list[str]:
    """A list of distinct cloud ids, order kept; refuses a bare string (a common slip) and any bad id."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise InvalidArgument(f"{what}s must be a list of ids, got {type(values).__name__}")
    return list(dict.fromkeys(cloud_id(value, what) for value in values))  # type: ignore[union-attr]


def file_uid(value: object) -> str:
    """An NDI file uid as the file routes accept it (``[A-Za-z0-9_-]``, 1-128 characters)."""
    if isinstance(value, str) and _FILE_UID.match(value):
        return value
    raise InvalidArgument(f"file uid {value!r} is not valid (letters, digits, '_' or '-', 1-128 characters)")
