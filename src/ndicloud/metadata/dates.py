"""ISO 8601 timestamps of dataset records (``createdAt``, ``updatedAt``) read as UTC calendar dates (doi.md §3.6)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

MIN_YEAR, MAX_YEAR = 1400, 2200  # the years Crossref's date_t accepts

_ISO = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})"
    r"(?:[T ](?P<h>[0-9]{2}):(?P<m>[0-9]{2})(?::(?P<s>[0-9]{2})(?:[.,](?P<frac>[0-9]+))?)?"
    r"(?P<tz>Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?$"
)


def parse_timestamp(value: object) -> datetime:
    """An aware UTC datetime for an ISO 8601 date or date-time (fractional seconds and ``Z`` or an offset
    optional; none means UTC). ``ValueError`` says what form is expected."""
    if not isinstance(value, str):
        raise ValueError(f"expected an ISO 8601 date-time such as 2024-04-08T12:00:00Z, not {type(value).__name__}")
    match = _ISO.match(value.strip())
    if not match:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time; write e.g. 2024-04-08T12:00:00.000Z")
    try:
        day = date.fromisoformat(match["date"])
        moment = datetime(day.year, day.month, day.day, int(match["h"] or 0), int(match["m"] or 0),
                          int(match["s"] or 0), int((match["frac"] or "0")[:6].ljust(6, "0")))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a real date and time ({exc})") from None
    moment = moment.replace(tzinfo=timezone.utc) - _offset(match["tz"])
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise ValueError(f"{value!r} has year {moment.year}; Crossref accepts {MIN_YEAR}-{MAX_YEAR}")
    return moment


def _offset(tz: str | None) -> timedelta:
    if not tz or tz in "Zz":
        return timedelta(0)
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"time zone offset {tz!r} is out of range")
    return sign * timedelta(hours=hours, minutes=minutes)


def utc_date(value: object) -> date:
    """The UTC calendar date of an ISO 8601 timestamp."""
    return parse_timestamp(value).date()
