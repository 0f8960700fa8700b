"""Canvas LMS Live Events <-> IMS Caliper 1.1, checked against JSON Schemas of both formats."""

from __future__ import annotations

from .errors import FormatError, MappingError, Problem, TranslatorError, UnsupportedEventError, ValidationError
from .formats import detect_format
from .validation import validate

__all__ = [
    "FormatError",
    "MappingError",
    "Problem",
    "TranslatorError",
    "UnsupportedEventError",
    "ValidationError",
    "detect_format",
    "validate",
]
