"""NDI ids, datestamps and MATLAB datenums.

NDI ids are two 16-digit hex halves joined by ``_``: the big-endian IEEE-754 bytes
of the local-time MATLAB datenum at creation, and of a random value. Minting them
the MATLAB way keeps ids from this package sortable together with MATLAB's.
"""

from __future__ import annotations

import re
import secrets
import struct
import time
from datetime import datetime, timezone

from .errors import InvalidIdError

EMPTY_SESSION_ID = "0000000000000000_0000000000000000"
"""Session id meaning "no specific session" (replaced by the session on add)."""

_ID_RE = re.compile(r"^[0-9a-fA-F]{16}_[0-9a-fA-F]{16}$")
_CLOUD_ID_RE = re.compile(r"^[0-9a-f]{24}$")

# MATLAB datenum of 1970-01-01T00:00:00.
_UNIX_EPOCH_DATENUM = 719529.0
_RANDOM_INT_SPAN = 32727


def local_datenum(unix_seconds: float | None = None) -> float:
    """MATLAB serial date number (fractional days) of a moment, in local wall-clock time."""
    t = time.time() if unix_seconds is None else unix_seconds
    offset = time.localtime(t).tm_gmtoff
    return _UNIX_EPOCH_DATENUM + (t + offset) / 86400.0


def _double_hex(value: float) -> str:
    return struct.pack(">d", value).hex()


def _hex_double(text: str) -> float:
    return struct.unpack(">d", bytes.fromhex(text))[0]


def new_id() -> str:
    """Mint a new NDI id with NDI-matlab's recipe (local datenum + random part)."""
    fraction = secrets.randbits(53) / float(1 << 53)
    whole = secrets.randbelow(2 * _RANDOM_INT_SPAN + 1) - _RANDOM_INT_SPAN
    return f"{_double_hex(local_datenum())}_{_double_hex(whole + fraction)}"


def is_valid_id(value: object) -> bool:
    """True for a 16hex_16hex NDI id in either case."""
    return isinstance(value, str) and _ID_RE.match(value) is not None


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a valid NDI id, else raise naming ``what``."""
    if not is_valid_id(value):
        raise InvalidIdError(
            f"{what} must be an NDI id of the form 16hex_16hex (33 characters), got {value!r}"
        )
    return value  # type: ignore[return-value]


def id_time_datenum(ndi_id: str) -> float:
    """The local-time datenum encoded in the first half of an NDI id."""
    validate_id(ndi_id)
    return _hex_double(ndi_id[:16])


def id_random_part(ndi_id: str) -> float:
    """The random value encoded in the second half of an NDI id."""
    validate_id(ndi_id)
    return _hex_double(ndi_id[17:])


def is_cloud_id(value: object) -> bool:
    """True for a 24-character lower-case hex NDI Cloud id (dataset, organization, document)."""
    return isinstance(value, str) and _CLOUD_ID_RE.match(value) is not None


def format_datestamp(moment: datetime) -> str:
    """Format a moment as NDI's UTC datestamp ``yyyy-MM-ddTHH:mm:ss.SSSZ``."""
    utc = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    millis = round(utc.microsecond / 1000)
    if millis >= 1000:  # MATLAB writes a rounded-up second as .999 rather than carrying
        millis = 999
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"


def datestamp_now() -> str:
    """The current time as an NDI datestamp (UTC, milliseconds)."""
    return format_datestamp(datetime.now(timezone.utc))
