"""One error hierarchy, and problems as data.

Configuration faults (a bad mapping file, an unknown profile) are raised; what is wrong with an
*event* is returned as `Problem`s, so a batch can keep going and report every one of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with (or worth saying about) a payload.

    `path` is a JSON Pointer into the payload as given (`/metadata/event_time`, `""` for the
    payload itself); `rule` is the schema keyword or named check that failed (`pattern`,
    `required`, `unknown-event`, ...); `value` is the offending value as JSON, shortened (as
    jsonschema's errors carry their `instance`), or None when the problem is an absence; an event
    conforms when no problem is an ``"error"``.
    """

    path: str
    message: str
    rule: str
    severity: Severity = "error"
    value: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, str]:
        shown = {"path": self.path, "rule": self.rule, "severity": self.severity, "message": self.message}
        if self.value is not None:
            shown["value"] = self.value
        return shown

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message} [{self.rule}]"


class TranslatorError(ValueError):
    """Base of every error this library raises."""


class FormatError(TranslatorError):
    """The payload is neither a Canvas event nor a Caliper envelope or event."""


class ValidationError(TranslatorError):
    """A payload (input or output of a translation) does not conform; `.problems` says where."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems)

    def __str__(self) -> str:
        head = super().__str__()
        errors = [p for p in self.problems if p.is_error]
        if not errors:
            return head
        shown = "; ".join(str(p) for p in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return f"{head}: {shown}{more}"


class UnsupportedEventError(TranslatorError):
    """No mapping covers this event (or generic forms are switched off)."""


class MappingError(TranslatorError):
    """A mapping file is invalid; the message names the file, the line and the reason."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = file or ""
        if file and line:
            where = f"{file}:{line}"
        super().__init__(f"{where}: {message}" if where else message)
        self.file = file
        self.line = line
