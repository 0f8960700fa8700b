"""`validate()`: one entry point for both formats."""

from __future__ import annotations

from typing import Any

from .errors import FormatError, Problem, TranslatorError
from .formats import FORMATS, detect_format
from .formats.canvas import validate_canvas
from .io.jsontext import non_finite_problem


def validate(payload: Any, format: str | None = None, profile: str | None = None) -> list[Problem]:
    """Every problem in `payload`; it conforms when none has severity ``"error"``.

    `format` is ``"canvas"`` or ``"caliper"`` (``None`` detects it); `profile` picks the Caliper
    profile (``"ims"`` or ``"canvas"``; ``None`` decides per event, see the README).
    """
    invalid = non_finite_problem(payload)
    if invalid is not None:  # NaN or Infinity: no schema says so, and no JSON could carry it
        return [invalid]
    if format is None:
        if not isinstance(payload, dict):
            return [Problem("", f"an event must be a JSON object, not {type(payload).__name__}", "not-an-object")]
        try:
            format = detect_format(payload)
        except FormatError as exc:
            return [Problem("", str(exc), "unknown-format")]
    if format == "canvas":
        if profile not in (None, "canvas"):
            raise TranslatorError(f"the canvas format has no profile {profile!r}")
        return validate_canvas(payload)
    if format == "caliper":
        from .formats.caliper import validate_caliper

        return validate_caliper(payload, profile)
    raise TranslatorError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


def accept_problems(payload: Any, format: str, custom_events: frozenset[str] = frozenset()) -> list[Problem]:
    """The check on a batch's accept path: no problems at once when the payload conforms (warnings
    unsaid), the full report when it does not. `format` is known ("canvas" or "caliper")."""
    if format == "canvas":
        return validate_canvas(payload, custom_events, quick=True)
    from .formats.caliper import validate_caliper

    return validate_caliper(payload, None, quick=True)


def conforms(problems: list[Problem]) -> bool:
    return not any(p.is_error for p in problems)
