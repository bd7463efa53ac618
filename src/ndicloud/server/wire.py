"""Wire conventions (cloud-api §3): forgiving request bodies, sentinel strings for NaN, pagination."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from fastapi import Request
from fastapi.responses import JSONResponse

from ..core.jsonio import dehydrate_sentinels, lone_surrogate
from .errors import ApiError, bad_request

# Non-finite numbers go out as NDI's sentinel strings (never bare tokens or null in responses).
to_wire = dehydrate_sentinels


class WireJSONResponse(JSONResponse):
    """JSON with non-finite numbers as sentinels."""

    def render(self, content: Any) -> bytes:
        return json.dumps(to_wire(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


async def read_json(request: Request, max_bytes: int, *, account: bool = False) -> Any:
    """The request body as JSON, or None when it is empty.

    Accepts bare NaN/Infinity tokens, and JSON declared as a form (NDI-matlab's
    webwrite does that), percent-encoded or not. On ``account`` routes an unreadable
    body is refused with a Cognito-style body, as their other errors are (cloud-api §10.7).
    """

    def refused(status: int, message: str) -> ApiError:
        if account:
            return ApiError(status, message, code="InvalidParameterException", account=True)
        return ApiError(status, message)

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise refused(413, f"request body of {declared} bytes is larger than the limit of {max_bytes}")
    parts: list[bytes] = []
    received = 0
    async for chunk in request.stream():  # refused as soon as it passes the limit, never read in full
        received += len(chunk)
        if received > max_bytes:
            raise refused(413, f"request body is larger than the limit of {max_bytes} bytes")
        parts.append(chunk)
    body = b"".join(parts)
    if not body.strip():
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise refused(400, f"request body is not UTF-8 (byte {exc.start})") from None
    if "x-www-form-urlencoded" in request.headers.get("content-type", "") and text.lstrip()[:1] not in "{[":
        text = unquote_plus(text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise refused(400, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise refused(400, "request body is JSON nested too deeply") from None
    surrogate = lone_surrogate(text, value)
    if surrogate is not None:  # valid JSON, but not text any store can hold
        raise refused(400, f"request body escapes a lone surrogate ({surrogate}), which is not valid Unicode")
    return value


async def read_object(request: Request, max_bytes: int, *, required: bool = True) -> dict[str, Any]:
    value = await read_json(request, max_bytes)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise bad_request("request body must be a JSON object")
    return value


def note_created(request: Request, object_id: str) -> None:
    """Tell fault injection (when on) about a new object, for its read-after-write lag."""
    faults = getattr(request.app.state, "faults", None)
    if faults is not None:
        faults.note_write([object_id])


MAX_OFFSET = 2**63 - 1  # a page must start within SQLite's 64-bit integers


def page_params(request: Request, default_size: int, max_size: int) -> tuple[int, int]:
    """``page`` (from 1) and ``pageSize`` (clamped to the maximum); anything else is a 400."""
    values = []
    for name, default in (("page", 1), ("pageSize", default_size)):
        raw = request.query_params.get(name)
        if raw is None:
            values.append(default)
            continue
        try:
            number = int(raw)
        except ValueError:
            raise bad_request(f"{name} must be a whole number, got {raw!r}") from None
        if number < 1:
            raise bad_request(f"{name} must be at least 1, got {number}")
        values.append(number)
    page, size = values[0], min(values[1], max_size)
    if (page - 1) * size > MAX_OFFSET:
        raise bad_request(f"page {page} is beyond any possible result (pageSize {size})")
    return page, size
