"""Dataset metadata: the typed cloud record, its validation, and NDI-matlab's MetadataEditor conversion (doi.md §5).

Pure functions on JSON values: nothing here talks to the network, so the same checks run before a dataset is
created, in ``ndi-cloud metadata validate`` and before a DOI deposit.
"""

from .creation import dataset_creation_body
from .dates import parse_timestamp, utc_date
from .editor import (
    create_cloud_metadata_struct,
    editor_to_cloud_body,
    is_editor_structure,
    must_be_valid_metadata,
    validate_editor_metadata,
)
from .identifiers import doi_url, is_bare_doi, normalize_doi, normalize_orcid, normalize_pmcid, normalize_pmid
from .issues import Issue, MetadataValidationError
from .licenses import LICENSE_URLS, license_url
from .record import DatasetMetadata, Funder, Person, Publication
from .validation import PLACEHOLDER_DOI, ensure_valid, is_placeholder_doi, validate_dataset_metadata

__all__ = [
    "LICENSE_URLS",
    "PLACEHOLDER_DOI",
    "DatasetMetadata",
    "Funder",
    "Issue",
    "MetadataValidationError",
    "Person",
    "Publication",
    "create_cloud_metadata_struct",
    "dataset_creation_body",
    "doi_url",
    "editor_to_cloud_body",
    "ensure_valid",
    "is_bare_doi",
    "is_editor_structure",
    "is_placeholder_doi",
    "license_url",
    "must_be_valid_metadata",
    "normalize_doi",
    "normalize_orcid",
    "normalize_pmcid",
    "normalize_pmid",
    "parse_timestamp",
    "utc_date",
    "validate_dataset_metadata",
    "validate_editor_metadata",
]
