"""Exceptions raised by the local NDI core.

Every error names the thing that is wrong (a file, a document id, a field) so
that a user can find and fix it without reading a traceback.
"""

from __future__ import annotations


class NdiError(Exception):
    """Base class of every error raised by the local core."""


class InvalidDocumentError(NdiError, ValueError):
    """A document's content breaks the NDI document rules."""


class DocumentJsonError(InvalidDocumentError):
    """Text that should hold a document is not valid JSON (or not a JSON object)."""


class InvalidIdError(InvalidDocumentError):
    """A value that must be an NDI id (16hex_16hex) is not one."""


class InvalidFileNameError(InvalidDocumentError):
    """A binary file name or uid that could escape the files folder or is not accepted."""


class NotAnNdiFolderError(NdiError):
    """The folder is not an NDI session or dataset (no .ndi folder or reference files)."""


class DatabaseFormatError(NdiError):
    """The SQLite file is missing, unreadable, or lacks the DID-SQLite tables."""


class DatabaseLockedError(NdiError):
    """Another program holds the database's lock (a reader or writer in MATLAB or Python)."""


class DuplicateDocumentError(NdiError):
    """A document with this id is already live in the database."""


class DuplicateFileUidError(NdiError):
    """A binary uid is already registered to a document in the files table."""


class DocumentNotFoundError(NdiError, KeyError):
    """No live document has the requested id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingBinaryError(NdiError, FileNotFoundError):
    """A document's binary file is not present in the dataset's files folder."""


class QueryError(NdiError, ValueError):
    """A query is malformed or cannot be evaluated."""


class RemoteLinkError(NdiError):
    """The dataset_remote link to NDI Cloud is absent, duplicated or malformed."""


class NotLinked(RemoteLinkError):
    """The local dataset has no link to a cloud dataset (and none was named): there is nothing to sync with."""
