"""Compute endpoints (cloud-api §5.5 K1-K6): start a pipeline, follow it, trigger or advance stages, abort."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .client import CloudClient, resolve
from .errors import InvalidArgument
from .models import ComputeSession
from .paths import route


def _session_route(session_id: str, *parts: str) -> str:
    if not isinstance(session_id, str) or not session_id:
        raise InvalidArgument("a compute session id is needed")
    return route("compute", session_id, *parts)


def start_session(pipeline_id: str, input_parameters: Mapping[str, Any] | None = None, *,
                  client: CloudClient | None = None) -> ComputeSession:
    """K1: start a pipeline (``hello-world-v1``, ...); never repeated blindly."""
    body: dict[str, Any] = {"pipelineId": pipeline_id}
    if input_parameters:
        body["inputParameters"] = dict(input_parameters)
    return ComputeSession.from_wire(resolve(client).json("POST", "/compute/start", json=body))


def get_session(session_id: str, *, client: CloudClient | None = None) -> ComputeSession:
    """K2: the session's status and stage history."""
    return ComputeSession.from_wire(resolve(client).json("GET", _session_route(session_id)))


def abort_session(session_id: str, *, client: CloudClient | None = None) -> None:
    """K3: abort (DELETE, as the reference does)."""
    resolve(client).request("DELETE", _session_route(session_id))


def trigger_stage(session_id: str, stage_id: str, *, client: CloudClient | None = None) -> None:
    """K4: run one stage now."""
    resolve(client).request("POST", _session_route(session_id, "stage", stage_id), content=b"", idempotent=True)


def advance_session(session_id: str, *, client: CloudClient | None = None) -> None:
    """K5: move to the next stage; past the last one finalizes (there is no /finalize route)."""
    resolve(client).request("POST", _session_route(session_id, "advance"), content=b"", idempotent=True)


def list_sessions(*, client: CloudClient | None = None) -> list[ComputeSession]:
    """K6: the caller's sessions (a bare array or ``{sessions: [...]}``)."""
    body = resolve(client).json("GET", "/compute")
    items = body if isinstance(body, list) else (body or {}).get("sessions", [])
    return [ComputeSession.from_wire(item) for item in items or [] if isinstance(item, dict)]
