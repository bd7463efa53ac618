"""Routes that exist on the real service but that no client uses (cloud-api §5.6): 501, shapes unknown.

Registered first, so that e.g. POST /datasets/search is not taken for a dataset update.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..errors import ApiError

router = APIRouter()


def _not_implemented(request: Request) -> None:
    raise ApiError(501, f"{request.method} {request.url.path} is not implemented by this server "
                        "(its request shape is not known)")


for _method, _path in (("POST", "/datasets/search"), ("POST", "/documents/search"),
                       ("GET", "/datasets/user/{user_id}/bookmarks"), ("POST", "/datasets/{dataset_id}/bookmark"),
                       ("DELETE", "/datasets/{dataset_id}/bookmark")):
    router.add_api_route(_path, _not_implemented, methods=[_method], openapi_extra={"x-not-implemented": True})
