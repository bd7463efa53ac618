"""MATLAB licence routes (cloud-api §5.1 U4-U7)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..access import required_user
from ..errors import ApiError, bad_request
from ..ids import utc_timestamp
from ..licenses import RELEASE, License, host_matches, license_text_problem, sealed_file
from ..wire import WireJSONResponse, read_object

router = APIRouter()
PATH = "/users/me/matlab-license"


@router.get(PATH)
async def status(request: Request) -> WireJSONResponse:
    user = required_user(request)
    return WireJSONResponse(request.app.state.records.licenses.get(user.id).json())


@router.post(PATH)
async def allocate(request: Request) -> WireJSONResponse:
    user = required_user(request)
    licenses = request.app.state.records.licenses
    current = licenses.get(user.id)
    if current.mode == "network":
        raise ApiError(409, "a network licence is registered; clear it before allocating a dedicated interface")
    if current.mode == "dedicated":
        return WireJSONResponse(current.json(), status_code=200)  # idempotent
    allocated = licenses.allocate()
    licenses.save(user.id, allocated)
    return WireJSONResponse(allocated.json(), status_code=201)


@router.put(PATH)
async def register(request: Request) -> WireJSONResponse:
    user = required_user(request)
    body = await read_object(request, request.app.state.config.max_json_body_bytes)
    if "licenseFile" in body:  # the Python port's form, {licenseFile, mode, release?} (cloud-api §9)
        mode = body.get("mode")
        if mode not in ("network", "dedicated"):
            raise bad_request(f"mode must be 'network' or 'dedicated', got {mode!r}")
        key = "networkLicenseFile" if mode == "network" else "dedicatedLicenseFile"
        body = {key: body["licenseFile"], **({"release": body["release"]} if "release" in body else {})}
    licenses = request.app.state.records.licenses
    secret = request.app.state.secret
    current = licenses.get(user.id)
    release = body.get("release")
    if "networkLicenseFile" in body:
        if release is not None:
            raise bad_request("release is not given with a network licence")
        problem = license_text_problem(body["networkLicenseFile"])
        if problem:
            raise bad_request(problem)
        updated = License(mode="network", registered_at=utc_timestamp(),
                          files=[sealed_file(secret, user.id, "network", body["networkLicenseFile"])])
    elif "dedicatedLicenseFile" in body:
        if not isinstance(release, str) or not RELEASE.match(release):
            raise bad_request(f"release must look like R2024b, got {release!r}")
        if current.mode != "dedicated" or not current.mac_address:
            raise bad_request("allocate a dedicated interface first (POST /users/me/matlab-license)")
        text = body["dedicatedLicenseFile"]
        problem = license_text_problem(text)
        if problem:
            raise bad_request(problem)
        if not host_matches(text, current.mac_address):
            raise bad_request(f"the licence's HOSTID does not match this interface's MAC {current.mac_address}")
        files = [f for f in current.files if f.get("release") != release]
        updated = License(**{**current.__dict__, "files": [*files, sealed_file(secret, user.id, release, text)]})
    else:
        raise bad_request("give networkLicenseFile, or dedicatedLicenseFile with release")
    licenses.save(user.id, updated)
    return WireJSONResponse(updated.json())


@router.delete(PATH)
async def clear(request: Request) -> Response:
    user = required_user(request)
    licenses = request.app.state.records.licenses
    release = request.query_params.get("release")
    if release is None:
        licenses.clear(user.id)
        return Response(status_code=204)
    current = licenses.get(user.id)
    current.files = [f for f in current.files if f.get("release") != release]
    licenses.save(user.id, current)
    return WireJSONResponse(current.json())
