"""The body a new cloud dataset is created with, from a cloud record or a MetadataEditor structure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .editor import editor_to_cloud_body, is_editor_structure, must_be_valid_metadata
from .issues import Issue, MetadataValidationError
from .validation import ensure_valid

# Set by the service, never sent when creating.
_SERVER_FIELDS = ("_id", "id", "organizationId", "isPublished", "isDeleted", "isSubmitted", "publishStatus",
                  "createdAt", "updatedAt", "uploadedAt", "totalSize", "documentCount", "files", "documents")


def dataset_creation_body(metadata: Mapping[str, Any], *, name: str | None = None,
                          default_name: str | None = None) -> tuple[dict[str, Any], list[Issue]]:
    """The checked creation body and its warnings; :class:`MetadataValidationError` names every bad field.

    An editor structure is converted (doi.md §5.4) and never yields a ``doi``; NDI-matlab's placeholder DOI in a
    record is refused. ``name``, when given, is the dataset's name; ``default_name`` is used when
    the metadata has none. Fields the service sets are left out.
    """
    warnings: list[Issue] = []
    if not isinstance(metadata, Mapping):
        raise MetadataValidationError([Issue("(record)", "dataset metadata must be a JSON object")])
    if is_editor_structure(metadata):
        warnings += must_be_valid_metadata(metadata)
        body = editor_to_cloud_body(metadata)
    else:
        body = {k: v for k, v in metadata.items() if k not in _SERVER_FIELDS}
    if name is not None:
        body["name"] = name
    elif default_name is not None and not (isinstance(body.get("name"), str) and body["name"].strip()):
        body["name"] = default_name
    warnings += ensure_valid(body)
    return body, warnings
