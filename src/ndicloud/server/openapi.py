"""The server's OpenAPI description (``GET /openapi.json``), completed from the wire contract (cloud-api §3–§5).

The routes read their bodies and query strings themselves (forgiving parsing, cloud-api §3.1), so FastAPI alone
describes only their paths. This adds what a client or an API fuzzer needs: the Bearer scheme, query parameters,
JSON request bodies, the error responses of cloud-api §3.5/§10.7, the shapes of §4 for the responses that have
one, and links from an answer naming a new or listed thing to the operations that take it. FastAPI's automatic 422
is dropped: path parameters are plain strings, so the server never answers 422.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .compute import PIPELINES
from .ingest import MAX_DOCUMENT_ID_CHARS

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
BOOLEAN = {"type": "boolean"}
INTEGER = {"type": "integer"}
OBJECT = {"type": "object"}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _shape(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


DATASET_STATUS = {"organizationId": STRING, "createdAt": STRING, "updatedAt": STRING, "uploadedAt": NULLABLE_STRING,
                  "isPublished": BOOLEAN, "isDeleted": BOOLEAN, "isSubscribed": BOOLEAN, "totalSize": INTEGER,
                  "documentCount": INTEGER}
DOCUMENT_SUMMARY = {"id": STRING, "ndiId": STRING, "name": STRING, "className": STRING}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _shape({"error": STRING, "message": STRING}),
    "AccountError": _shape({"errors": STRING}, {"code": STRING}),
    "User": _shape({"id": STRING, "name": STRING, "email": STRING, "isValidated": BOOLEAN, "isAdmin": BOOLEAN,
                    "bookmarkedDatasetIds": {"type": "array"},
                    "organizations": {"type": "array", "items": _shape({"id": STRING, "name": STRING,
                                                                         "canUploadDataset": BOOLEAN})}}),
    "Token": _shape({"token": STRING, "user": _ref("User")}),
    "Message": _shape({"message": STRING}),
    "DatasetDetail": _shape({"_id": STRING, "name": STRING, **DATASET_STATUS, "isSubmitted": BOOLEAN,
                             "publishStatus": STRING, "files": {"type": "array", "items": _ref("FileEntry")},
                             "documents": {"type": "array"}}),
    "DatasetRecord": _shape({"id": STRING, "name": STRING, **DATASET_STATUS, "isSubmitted": BOOLEAN}),
    "DatasetListItem": {**_shape({"id": STRING, "name": STRING, **DATASET_STATUS}),
                        "not": {"anyOf": [{"required": [key]} for key in (
                            "species", "neurons", "numberOfSubjects", "brainRegions", "pubMedId", "affiliation",
                            "associatedPublications", "files", "documents")]}},
    "DatasetPage": _shape({"totalNumber": INTEGER, "page": INTEGER, "pageSize": INTEGER,
                           "datasets": {"type": "array", "items": _ref("DatasetListItem")}}),
    "FileEntry": _shape({"uid": STRING, "uploaded": BOOLEAN, "size": INTEGER, "sourceDatasetId": STRING}),
    "DocumentList": {**_shape({"documents": {"type": "array", "items": _shape(DOCUMENT_SUMMARY)}}),
                     "additionalProperties": False},
    "DocumentDetail": _shape({"id": STRING}),
    "QueryResult": _shape({"documents": {"type": "array", "items": _shape({**DOCUMENT_SUMMARY, "datasetId": STRING})},
                           "number_matches": INTEGER, "page": INTEGER, "pageSize": INTEGER}),
    "DocumentCount": _shape({"datasetId": STRING, "count": INTEGER}),
    "BulkJob": _shape({"jobId": STRING, "datasetId": STRING, "createdAt": STRING, "filesExtracted": INTEGER,
                       "state": {"enum": ["queued", "extracting", "complete", "failed"]}}),
    "ComputeSession": _shape({"sessionId": STRING, "currentStageId": NULLABLE_STRING, "history": OBJECT,
                              "status": {"enum": ["RUNNING", "COMPLETED", "ABORTED", "FAILED"]}}),
    "LicenceStatus": _shape({"mode": {"enum": ["dedicated", "network", None, ""]}, "files": {"type": "array"},
                             "instructions": {}}),
}

PAGE = [{"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
        {"name": "pageSize", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}}]
WHEN = [{"name": "when", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": r"^(now|[1-9][0-9]*[dhms])$"}}]

NDI_ID = {"type": "string", "minLength": 1, "maxLength": MAX_DOCUMENT_ID_CHARS}
DOCUMENT = _shape({"base": _shape({"id": NDI_ID})})
NAME = {"type": "string", "pattern": r"\S"}  # not blank
PIPELINE = {"enum": sorted(PIPELINES)}  # the pipelines this server runs (cloud-api §5.5)
DOCUMENT_IDS = {"documentIds": {"type": "array", "items": STRING}}

# (method, path): (query parameters, request body schema, {success status: response schema name or None})
DATASET = "/v1/datasets/{dataset_id}"
ROUTES: dict[tuple[str, str], tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, str | None]]] = {
    ("post", "/v1/auth/login"): ([], _shape({"email": STRING, "password": STRING}), {"200": "Token"}),
    ("get", "/v1/users/me"): ([], None, {"200": "User"}),
    ("get", "/v1/users/{user_id}"): ([], None, {"200": "User"}),
    ("post", "/v1/users"): ([], _shape({"email": STRING, "name": STRING, "password": STRING}), {"200": None}),
    ("post", "/v1/auth/verify"): ([], _shape({"email": STRING, "confirmationCode": STRING}), {"200": None}),
    ("post", "/v1/auth/confirmation/resend"): ([], _shape({"email": STRING}), {"200": None}),
    ("post", "/v1/auth/password"): ([], _shape({"oldPassword": STRING, "newPassword": STRING}), {"200": None}),
    ("post", "/v1/auth/password/forgot"): ([], _shape({"email": STRING}), {"200": None}),
    ("post", "/v1/auth/password/confirm"): ([], _shape({"email": STRING, "confirmationCode": STRING,
                                                         "newPassword": STRING}), {"200": None}),
    ("get", "/v1/users/me/matlab-license"): ([], None, {"200": "LicenceStatus"}),
    ("post", "/v1/users/me/matlab-license"): ([], None, {"200": "LicenceStatus", "201": "LicenceStatus"}),
    ("put", "/v1/users/me/matlab-license"): ([], _shape({}, {"networkLicenseFile": STRING,
                                                                "dedicatedLicenseFile": STRING, "release": STRING,
                                                                "licenseFile": STRING, "mode": STRING}),
                                             {"200": "LicenceStatus"}),
    ("delete", "/v1/users/me/matlab-license"): ([{"name": "release", "in": "query", "required": False,
                                                  "schema": STRING}], None, {"200": "LicenceStatus", "204": None}),
    ("post", "/v1/organizations/{organization_id}/datasets"): ([], _shape({"name": NAME}), {"201": "DatasetRecord"}),
    ("get", "/v1/organizations/{organization_id}/datasets"): (PAGE, None, {"200": "DatasetPage"}),
    ("get", "/v1/datasets/published"): (PAGE, None, {"200": "DatasetPage"}),
    ("get", "/v1/datasets/deleted"): (PAGE, None, {"200": "DatasetPage"}),
    ("get", "/v1/datasets/unpublished"): (PAGE, None, {"200": "DatasetPage"}),
    ("get", DATASET): ([], None, {"200": "DatasetDetail"}),
    ("post", DATASET): ([], OBJECT, {"200": "DatasetRecord"}),
    ("delete", DATASET): (WHEN, None, {"200": None}),
    ("post", DATASET + "/branch"): ([], _shape({}, {"branchName": STRING}), {"200": None, "201": None}),
    ("get", DATASET + "/documents"): (PAGE, None, {"200": "DocumentList"}),
    ("get", DATASET + "/documents/deleted"): (PAGE, None, {"200": "DocumentList"}),
    ("post", DATASET + "/documents"): ([], DOCUMENT, {"201": "DocumentDetail"}),
    ("get", DATASET + "/documents/{document_id}"): ([], None, {"200": "DocumentDetail"}),
    ("post", DATASET + "/documents/{document_id}"): ([], DOCUMENT, {"200": "DocumentDetail"}),
    ("delete", DATASET + "/documents/{document_id}"): (WHEN, None, {"200": None}),
    ("post", DATASET + "/documents/bulk-delete"): ([], _shape(DOCUMENT_IDS), {"200": None}),
    ("post", DATASET + "/documents/bulk-fetch"): ([], _shape(DOCUMENT_IDS), {"200": None}),
    ("post", DATASET + "/documents/bulk-download"): ([], _shape({}, DOCUMENT_IDS), {"200": None}),  # none: all
    ("get", DATASET + "/document-count"): ([{"name": "includeDeleted", "in": "query", "required": False,
                                             "schema": STRING}], None, {"200": "DocumentCount"}),
    ("get", DATASET + "/bulk-uploads"): ([{"name": "state", "in": "query", "required": False, "schema": STRING}],
                                         None, {"200": None}),
    ("get", "/v1/bulk-uploads/{job_id}"): ([], None, {"200": "BulkJob"}),
    ("post", "/v1/ndiquery"): (PAGE, _shape({"searchstructure": {"type": "array", "items": OBJECT}},
                                            {"scope": STRING}), {"200": "QueryResult"}),
    ("post", "/v1/compute/start"): ([], _shape({"pipelineId": PIPELINE}, {"inputParameters": OBJECT}),
                                   {"201": "ComputeSession"}),
    ("get", "/v1/compute/{session_id}"): ([], None, {"200": "ComputeSession"}),
    ("post", "/v1/compute/{session_id}/advance"): ([], None, {"200": "Message"}),
    ("post", "/v1/compute/{session_id}/stage/{stage_id}"): ([], None, {"200": "Message"}),
}
# Errors beyond those of every route (400, 401, 403, 404) and of every route reading a body (413)
ERRORS: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/v1/users/me/matlab-license"): {"409": "a network licence is registered"},
}
# Cognito-backed routes: their 400s and 413s, and the login's 401, have Cognito-style bodies (cloud-api §3.5, §10.7)
COGNITO = frozenset({"/v1/auth/login", "/v1/auth/password", "/v1/auth/password/forgot", "/v1/auth/password/confirm",
                     "/v1/auth/verify", "/v1/auth/confirmation/resend", "/v1/users"})

# Links: an answer that names a thing leads to the operations that take it. Per answering operation: the status of
# that answer, and where the values it gives come from (the answer, or the request), each named as a path parameter
# or a field of a request body. The targets follow: every implemented operation whose path parameters are all given
# here, taking at least one value from the answer, in its path or its body.
ANSWER, ASKED = "$response.body#/", "$request.path."
ORGANIZATION = {"organization_id": ANSWER + "organizations/0/id"}
NEW_DATASET = {"dataset_id": ANSWER + "id", "organization_id": ANSWER + "organizationId"}
BULK_JOB = {"job_id": ANSWER + "jobId"}
FILES_BULK = "/v1/datasets/{organization_id}/{dataset_id}/files/bulk"


def _documents(document_id: str) -> dict[str, Any]:
    """A document of the requested dataset: for the operations on it, and on lists of documents."""
    return {"dataset_id": ASKED + "dataset_id", "document_id": document_id, "documentIds": [document_id]}


LINKS: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {
    ("get", "/v1/users/me"): ("200", ORGANIZATION),
    ("post", "/v1/users"): ("200", {"user_id": ANSWER + "id", **ORGANIZATION}),
    ("post", "/v1/auth/login"): ("200", {"user_id": ANSWER + "user/id",
                                         "organization_id": ANSWER + "user/organizations/0/id"}),
    ("post", "/v1/organizations/{organization_id}/datasets"): ("201", NEW_DATASET),
    ("post", DATASET + "/branch"): ("200", NEW_DATASET),
    ("post", DATASET + "/documents"): ("201", _documents(ANSWER + "id")),
    ("get", DATASET + "/documents"): ("200", _documents(ANSWER + "documents/0/id")),
    ("get", FILES_BULK): ("200", BULK_JOB),
    ("post", FILES_BULK): ("200", BULK_JOB),
    ("post", "/v1/compute/start"): ("201", {"session_id": ANSWER + "sessionId",
                                            "stage_id": ANSWER + "currentStageId"}),
}

def _error(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _complete(path: str, method: str, operation: dict[str, Any]) -> None:
    operation["operationId"] = f"{method}_{path}"  # unique: FastAPI repeats one id across a route's methods
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)
    if path.startswith("/storage/"):  # bytes, and S3-style XML errors (cloud-api §10.4)
        if method == "get":
            responses["200"] = {"description": "the object", "content": {"application/octet-stream": {}}}
            responses["206"] = {"description": "a range", "content": {"application/octet-stream": {}}}
        else:
            responses["200"] = {"description": "stored" if method == "put" else "the object's headers"}
        for status in ("400", "403", "404", "416"):
            responses.setdefault(status, {"description": "storage error", "content": {"application/xml": {}}})
        responses["404"]["content"]["application/json"] = {"schema": _ref("Error")}  # a key no route matches
        return
    if operation.get("x-not-implemented"):  # cloud-api §5.6, §10.7
        operation["responses"] = {"501": _error("Error", "not implemented: the request shape is not known")}
        return
    query, body, success = ROUTES.get((method, path), ([], None, {}))
    if query:
        operation["parameters"] = [*operation.get("parameters", []), *query]
    if body is not None:
        operation["requestBody"] = {"required": bool(body.get("required")),  # a body with required fields is
                                    "content": {"application/json": {"schema": body}}}
    for status, schema in success.items():
        reply: dict[str, Any] = {"description": "success"}
        if status != "204":
            reply["content"] = {"application/json": {"schema": _ref(schema) if schema else {}}}
        responses[status] = reply
    errors = {"400": "invalid request", "401": "no, a bad, an expired or a revoked token", "403": "forbidden",
              "404": "not found, or not visible to the caller", **ERRORS.get((method, path), {})}
    if body is not None:
        errors["413"] = "the request body is larger than the server takes"
    for status, text in errors.items():
        cognito = path in COGNITO and (status in ("400", "413") or path == "/v1/auth/login")
        responses.setdefault(status, _error("AccountError" if cognito else "Error", text))


def _path_parameters(operation: dict[str, Any]) -> set[str]:
    return {parameter["name"] for parameter in operation.get("parameters", []) if parameter["in"] == "path"}


def _body_fields(operation: dict[str, Any]) -> set[str]:
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    return set(body.get("properties", {}))


def _from_answer(value: str | list[str]) -> bool:
    return any(part.startswith(ANSWER) for part in (value if isinstance(value, list) else [value]))


def _link(paths: dict[str, Any]) -> None:
    """Add ``LINKS`` to the answers they start from, each named after its target operation."""
    targets = [(operation["operationId"], _path_parameters(operation), _body_fields(operation))
               for operations in paths.values() for operation in operations.values()
               if not operation.get("x-not-implemented")]
    for (method, path), (status, given) in LINKS.items():
        links: dict[str, Any] = {}
        for target, names, fields in targets:
            parameters = {name: given[name] for name in sorted(names) if name in given}
            body = {field: given[field] for field in sorted(fields) if field in given}
            if len(parameters) == len(names) and any(map(_from_answer, [*parameters.values(), *body.values()])):
                link = {"operationId": target, "parameters": parameters, **({"requestBody": body} if body else {})}
                links[re.sub(r"[^A-Za-z0-9]+", "_", target).strip("_")] = link
        paths[path][method]["responses"][status]["links"] = links

def describe(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app`` (built once)."""
    if app.openapi_schema is None:
        with warnings.catch_warnings():  # a route with two methods shares an id; ids are made unique below
            warnings.filterwarnings("ignore", message="Duplicate Operation ID")
            document = get_openapi(title=app.title, version=app.version, routes=app.routes)
        components = document.setdefault("components", {})
        components.setdefault("schemas", {}).update(SCHEMAS)
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        document["security"] = [{"bearer": []}, {}]  # some reads also answer anonymous callers (published data)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                _complete(path, method, operation)
        _link(document["paths"])
        app.openapi_schema = document
    return app.openapi_schema
