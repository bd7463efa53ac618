"""What can go wrong registering a DOI, as one exception hierarchy (doi.md §1.3).

Texts name what failed and what to do next (a ``file_name`` to check, a command to resume); none ever holds
the Crossref password.
"""

from __future__ import annotations

from collections.abc import Sequence


class DoiError(Exception):
    """Any failure of DOI registration."""


class DoiUsageError(DoiError, ValueError):
    """Options that do not go together (``force`` without the test system) or a missing setting."""


class MissingCredentials(DoiUsageError):
    """A Crossref call without ``CROSSREF_USERNAME`` and ``CROSSREF_PASSWORD``."""


class SchemaUnavailable(DoiError):
    """The Crossref XSD could not be found or compiled offline."""


class DatasetUnavailable(DoiError):
    """The dataset's record could not be read from NDI Cloud."""


class RegistrationRefused(DoiError):
    """The dataset must not get a DOI now (it has one, is not published, or is deleted); names the field."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


class DepositValidationError(DoiError):
    """Deposit XML that failed our pre-checks or the XSD; ``errors`` holds one plain line per problem."""

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        lines = "\n".join(f"  {line}" for line in self.errors)
        super().__init__(f"the deposit XML is not valid ({len(self.errors)} error"
                         f"{'s' if len(self.errors) != 1 else ''}); nothing was sent:\n{lines}")


class CrossrefSubmissionError(DoiError):
    """Crossref did not take the request: no answer, an error status, a refusal in a 200, a full queue, or an
    answer that is not a submission log."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class SubmissionFailed(DoiError):
    """Crossref processed the deposit and refused the dataset's DOI; ``messages`` holds its reasons."""

    def __init__(self, message: str, *, file_name: str, messages: Sequence[str] = ()):
        super().__init__(message)
        self.file_name = file_name
        self.messages = list(messages)


class SubmissionPending(DoiError):
    """Crossref had not finished the deposit when the wait ran out; ``file_name`` tracks it."""

    def __init__(self, message: str, *, file_name: str):
        super().__init__(message)
        self.file_name = file_name


class DoiStoreError(DoiError):
    """The DOI is registered at Crossref but could not be written to the dataset; ``doi`` is that DOI."""

    def __init__(self, message: str, *, doi: str, dataset_id: str):
        super().__init__(message)
        self.doi = doi
        self.dataset_id = dataset_id
