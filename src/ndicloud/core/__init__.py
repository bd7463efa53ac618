"""The local NDI core: ids, documents, queries, the DID-SQLite store and dataset folders.

No network code lives here; everything works on a scientist's disk alone.
"""

from .canonical import canonical_bytes, canonical_hash
from .dataset import Dataset, RemoteLink, SessionInfo, is_ndi_folder
from .document import Document
from .errors import (
    DatabaseFormatError,
    DatabaseLockedError,
    DocumentJsonError,
    DocumentNotFoundError,
    DuplicateDocumentError,
    DuplicateFileUidError,
    InvalidDocumentError,
    InvalidFileNameError,
    InvalidIdError,
    MissingBinaryError,
    NdiError,
    NotAnNdiFolderError,
    NotLinked,
    QueryError,
    RemoteLinkError,
)
from .files import BinaryFile, ndic_location, parse_ndic
from .ids import EMPTY_SESSION_ID, datestamp_now, is_cloud_id, is_valid_id, new_id, validate_id
from .query import Query
from .store import DidSqliteStore, FileRow
from .syncindex import SyncIndex, read_sync_index, write_sync_index

__all__ = [
    "EMPTY_SESSION_ID",
    "BinaryFile",
    "DatabaseFormatError",
    "DatabaseLockedError",
    "Dataset",
    "DidSqliteStore",
    "Document",
    "DocumentJsonError",
    "DocumentNotFoundError",
    "DuplicateDocumentError",
    "DuplicateFileUidError",
    "FileRow",
    "InvalidDocumentError",
    "InvalidFileNameError",
    "InvalidIdError",
    "MissingBinaryError",
    "NdiError",
    "NotAnNdiFolderError",
    "NotLinked",
    "Query",
    "QueryError",
    "RemoteLink",
    "RemoteLinkError",
    "SessionInfo",
    "SyncIndex",
    "canonical_bytes",
    "canonical_hash",
    "datestamp_now",
    "is_cloud_id",
    "is_ndi_folder",
    "is_valid_id",
    "ndic_location",
    "new_id",
    "parse_ndic",
    "read_sync_index",
    "validate_id",
    "write_sync_index",
]
