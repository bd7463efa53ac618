"""The NDI Cloud REST API client (cloud-api.md): ``CloudClient`` and one function per endpoint.

Endpoint functions are grouped as the service groups them: :mod:`.auth`, :mod:`.users`, :mod:`.datasets`,
:mod:`.documents` (with ``/ndiquery``), :mod:`.files` (with bulk-upload jobs) and :mod:`.compute`; waiters for
asynchronous work are in :mod:`.waiters`, presigned transfers in :mod:`.transfer`. Every function takes an
optional ``client=``; without it a client is built once from the environment.
"""

from . import auth, compute, datasets, documents, files, transfer, users, waiters
from .client import CloudClient, default_client
from .environment import ENVIRONMENTS, base_url_from_environment
from .errors import (
    AuthError,
    BulkJobsFailed,
    CloudError,
    ConfigurationError,
    InvalidArgument,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ServerError,
    TransferError,
    ValidationError,
    WaitTimeout,
)
from .models import BulkJob, ComputeSession, Dataset, DatasetPage, DocumentSummary, FileEntry, QueryPage, User
from .retry import Backoff, RetryPolicy
from .tokens import TokenCache

__all__ = [
    "ENVIRONMENTS",
    "AuthError",
    "Backoff",
    "BulkJob",
    "BulkJobsFailed",
    "CloudClient",
    "CloudError",
    "ComputeSession",
    "ConfigurationError",
    "Dataset",
    "DatasetPage",
    "DocumentSummary",
    "FileEntry",
    "InvalidArgument",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "QueryPage",
    "RetryPolicy",
    "ServerError",
    "TokenCache",
    "TransferError",
    "User",
    "ValidationError",
    "WaitTimeout",
    "auth",
    "base_url_from_environment",
    "compute",
    "datasets",
    "default_client",
    "documents",
    "files",
    "transfer",
    "users",
    "waiters",
]
