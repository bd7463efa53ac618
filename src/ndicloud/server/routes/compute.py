"""Compute routes (cloud-api §5.5): start a pipeline, follow it, trigger or advance stages, abort."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..access import required_user
from ..compute import FINAL, HANGING_STAGES, NEEDS_MATLAB_LICENSE, PIPELINES, ComputeSession
from ..errors import ApiError, bad_request, not_found
from ..licenses import unreadable_releases
from ..records import Records, User
from ..wire import WireJSONResponse, read_object

router = APIRouter()
REQUIRED_RELEASE = "R2024b"


def _owned(request: Request, user: User, session_id: str) -> ComputeSession:
    session = request.app.state.records.compute.get(session_id)
    if session is None or session.owner_id != user.id:
        raise not_found(f"compute session {session_id}")
    return session


def _license_error(code: str, message: str) -> WireJSONResponse:
    return WireJSONResponse({**ApiError(400, message).body(), "code": code, "requiredRelease": REQUIRED_RELEASE},
                            status_code=400)


@router.post("/compute/start", status_code=201)
async def start(request: Request) -> WireJSONResponse:
    user = required_user(request)
    config = request.app.state.config
    body = await read_object(request, config.max_json_body_bytes)
    pipeline = body.get("pipelineId")
    if not isinstance(pipeline, str) or pipeline not in PIPELINES:
        raise bad_request(f"unknown pipeline {pipeline!r}; known: {', '.join(sorted(PIPELINES))}")
    if not user.can_compute:
        raise ApiError(403, f"user {user.email} does not have permission to start compute sessions")
    records: Records = request.app.state.records
    if pipeline in NEEDS_MATLAB_LICENSE:
        registered = records.licenses.get(user.id)
        if not registered.files:
            return _license_error("MATLAB_LICENSE_REQUIRED", f"pipeline {pipeline} needs a registered MATLAB licence")
        unreadable = unreadable_releases(request.app.state.secret, user.id, registered)
        if unreadable:
            return _license_error("MATLAB_LICENSE_DECRYPT_FAILED",
                                  f"the registered MATLAB licence ({', '.join(unreadable)}) can no longer be read; "
                                  "register it again")
    parameters = body.get("inputParameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise bad_request("inputParameters must be an object")
    session = records.compute.start(user.id, pipeline, parameters, config.compute_stage_delay_s)
    if (pipeline, session.current_stage) in HANGING_STAGES:
        records.compute.run_stage(session, session.current_stage or "", config.compute_timeout_s)
        session = records.compute.get(session.id) or session
    return WireJSONResponse(session.json(), status_code=201)


@router.get("/compute")
async def sessions(request: Request) -> WireJSONResponse:
    user = required_user(request)
    return WireJSONResponse({"sessions": [s.json() for s in request.app.state.records.compute.owned(user.id)]})


@router.get("/compute/{session_id}")
async def session(request: Request, session_id: str) -> WireJSONResponse:
    return WireJSONResponse(_owned(request, required_user(request), session_id).json())


@router.delete("/compute/{session_id}", status_code=204)
@router.post("/compute/{session_id}/abort", status_code=204)
async def abort(request: Request, session_id: str) -> Response:
    current = _owned(request, required_user(request), session_id)
    if current.status not in FINAL:
        request.app.state.records.compute.finish(current, "ABORTED", "aborted by the user")
    return Response(status_code=204)


@router.post("/compute/{session_id}/stage/{stage_id}")
async def trigger_stage(request: Request, session_id: str, stage_id: str) -> WireJSONResponse:
    current = _owned(request, required_user(request), session_id)
    if stage_id not in PIPELINES[current.pipeline_id]:
        raise bad_request(f"pipeline {current.pipeline_id} has no stage {stage_id!r}")
    if current.status in FINAL:
        raise bad_request(f"compute session {session_id} is {current.status}")
    config = request.app.state.config
    delay = config.compute_timeout_s if (current.pipeline_id, stage_id) in HANGING_STAGES else \
        config.compute_stage_delay_s
    request.app.state.records.compute.run_stage(current, stage_id, delay)
    return WireJSONResponse({"message": f"stage {stage_id} triggered"})


@router.post("/compute/{session_id}/advance")
async def advance(request: Request, session_id: str) -> WireJSONResponse:
    current = _owned(request, required_user(request), session_id)
    if current.status in FINAL:
        raise bad_request(f"compute session {session_id} is {current.status}")
    request.app.state.records.compute.advance(current, request.app.state.config.compute_stage_delay_s,
                                              "advanced by the user")
    return WireJSONResponse({"message": "advanced"})
