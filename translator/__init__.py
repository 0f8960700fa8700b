"""Canvas LMS Live Events <-> IMS Caliper 1.1, checked against JSON Schemas of both formats.

The front door: `validate`, `detect_format`, `translate`, `translate_all`, `Translator`,
`convert_stream` and `convert_blocks` (batches, nothing lost), and the error hierarchy rooted
at `TranslatorError` (a `ValueError`).
"""

from __future__ import annotations

from .batch import Block, ConvertResult, Report, convert_blocks, convert_stream
from .engine import Translator, translate, translate_all
from .errors import FormatError, MappingError, Problem, TranslatorError, UnsupportedEventError, ValidationError
from .formats import detect_format
from .validation import validate

__all__ = [
    "Block",
    "ConvertResult",
    "FormatError",
    "MappingError",
    "Problem",
    "Report",
    "Translator",
    "TranslatorError",
    "UnsupportedEventError",
    "ValidationError",
    "convert_blocks",
    "convert_stream",
    "detect_format",
    "translate",
    "translate_all",
    "validate",
]
