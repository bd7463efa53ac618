"""What metadata validation reports: one ``Issue`` per problem, and the error that carries them all."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One problem with one field. ``field`` is its path with 0-based JSON indices (``contributors[1].orcid``);
    ``message`` says what is wrong and how to fix it."""

    field: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        prefix = "" if self.is_error else "warning: "
        return f"{self.field}: {prefix}{self.message}"

    def json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "severity": self.severity}


def errors_of(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.is_error]


def warnings_of(issues: Iterable[Issue]) -> list[Issue]:
    return [issue for issue in issues if not issue.is_error]


class MetadataValidationError(ValueError):
    """Dataset metadata that must not be used as it is; ``issues`` lists every problem found (warnings too),
    and the message has one ``field: message`` line per error."""

    def __init__(self, issues: Iterable[Issue], *, what: str = "dataset metadata"):
        self.issues = list(issues)
        errors = errors_of(self.issues)
        lines = "\n".join(f"  {issue}" for issue in errors)
        super().__init__(f"{what} is not valid ({len(errors)} error{'s' if len(errors) != 1 else ''}):\n{lines}")

    @property
    def errors(self) -> list[Issue]:
        return errors_of(self.issues)
