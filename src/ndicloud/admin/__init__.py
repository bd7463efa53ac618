"""DOI registration for published NDI Cloud datasets through Crossref 5.3.1 (doi.md; NDI-matlab's ``ndi.cloud.admin``).

Mint a DOI (:mod:`.doi`), build the deposit XML (:mod:`.crossref`), validate it offline against the XSD
(:mod:`.validation`), deposit it and follow its status (:mod:`.deposit`, :mod:`.diagnostic`), and store the DOI
on the dataset (:mod:`.registration`). ``register_dataset_doi`` runs the whole workflow.
"""

from .constants import DATABASE_DOI, DOI_PREFIX, PRODUCTION_URL, TEST_URL
from .crossref import Deposit, build_database_deposit, build_deposit
from .deposit import CrossrefClient
from .diagnostic import RecordDiagnostic, SubmissionStatus, parse_diagnostic
from .doi import create_new_doi, dataset_resource_url, is_ndi_doi, mint_doi
from .errors import (
    CrossrefSubmissionError,
    DatasetUnavailable,
    DepositValidationError,
    DoiError,
    DoiStoreError,
    DoiUsageError,
    MissingCredentials,
    RegistrationRefused,
    SchemaUnavailable,
    SubmissionFailed,
    SubmissionPending,
)
from .registration import (
    RegistrationResult,
    check_submission,
    deposit_xml,
    finish_registration,
    register_dataset_doi,
    store_dataset_doi,
)
from .schema import load_schema
from .settings import Depositor
from .validation import validate_deposit

__all__ = [
    "DATABASE_DOI",
    "DOI_PREFIX",
    "PRODUCTION_URL",
    "TEST_URL",
    "CrossrefClient",
    "CrossrefSubmissionError",
    "DatasetUnavailable",
    "Deposit",
    "DepositValidationError",
    "Depositor",
    "DoiError",
    "DoiStoreError",
    "DoiUsageError",
    "MissingCredentials",
    "RecordDiagnostic",
    "RegistrationRefused",
    "RegistrationResult",
    "SchemaUnavailable",
    "SubmissionFailed",
    "SubmissionPending",
    "SubmissionStatus",
    "build_database_deposit",
    "build_deposit",
    "check_submission",
    "create_new_doi",
    "dataset_resource_url",
    "deposit_xml",
    "finish_registration",
    "is_ndi_doi",
    "load_schema",
    "mint_doi",
    "parse_diagnostic",
    "register_dataset_doi",
    "store_dataset_doi",
    "validate_deposit",
]
