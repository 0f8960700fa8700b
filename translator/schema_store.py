"""Every shipped JSON Schema, loaded once, compiled once per id, and errors turned into Problems.

All files under `schemas/` go into one `referencing.Registry` (no network: an unknown `$ref`
fails loudly). The validator class is Draft 2020-12 plus our two warning keywords, documented in
`schemas/README.md`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError as SchemaValidationError
from jsonschema.exceptions import best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from referencing.exceptions import NoSuchResource

from .errors import Problem, TranslatorError
from .pointer import pointer

_rs: Any
try:  # the fast verdict is optional: without it every check takes the detailed path
    import jsonschema_rs as _rs
except ImportError:  # pragma: no cover - jsonschema-rs is a dependency; this guards odd platforms
    _rs = None
from .resources import data_dir
from .schema_verdict import verdict_form

SCHEMA_BASE = "https://canvas-caliper-translator.dev/schemas/"
AS_WRITTEN = "https://canvas-caliper-translator.dev/as-written/schemas/"  # the shipped schemas as written, for jsonschema-rs


def _property_is_declared(schema: dict[str, Any], key: str) -> bool:
    if key in schema.get("properties", ()):
        return True
    return any(re.search(pattern, key) for pattern in schema.get("patternProperties", ()))


def unknown_field_message(key: str) -> str:
    return f"unknown field {key!r} (not in the documented schema)"


def _warn_unknown_properties(validator: Any, enabled: Any, instance: Any, schema: dict[str, Any]) -> Iterator[SchemaValidationError]:
    if not enabled or not isinstance(instance, dict):
        return
    for key in instance:
        if not _property_is_declared(schema, key):
            yield SchemaValidationError(unknown_field_message(key), path=[key], instance=instance[key])


def _warn_unless(validator: Any, spec: dict[str, Any], instance: Any, schema: dict[str, Any]) -> Iterator[SchemaValidationError]:
    """A warning only about a value its own schema accepts: one that is wrong has its error, and a
    warning beside it (a malformed `event_time` "has no milliseconds") would only mislead."""
    rest = {key: value for key, value in schema.items() if key != "x-warnUnless"}
    if not validator.evolve(schema=spec["schema"]).is_valid(instance) and validator.evolve(schema=rest).is_valid(instance):
        yield SchemaValidationError(spec["message"])


WARNING_KEYWORDS = {"x-warnUnknownProperties": "unknown-field", "x-warnUnless": None}

_Validator = validators.extend(
    Draft202012Validator,
    {"x-warnUnknownProperties": _warn_unknown_properties, "x-warnUnless": _warn_unless},
)


def brief(value: Any, limit: int = 60) -> str:
    """`value` as JSON, cut to `limit` characters: what a message or a report quotes."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer", float: "a number", type(None): "null"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _expected(schema: Any) -> str:
    description = schema.get("description") if isinstance(schema, dict) else None
    return f" (expected: {description.rstrip('.')})" if description else ""


def _message(error: SchemaValidationError) -> str:
    """A short message for a person; jsonschema's own messages can quote 8 KB of instance."""
    keyword, value, instance = error.validator, error.validator_value, error.instance
    if keyword == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"must be {wanted}, not {_json_type(instance)}"
    if keyword == "pattern":
        return f"{brief(instance)} is not in the required form{_expected(error.schema)}"
    if keyword in ("maxLength", "minLength"):
        bound = "at most" if keyword == "maxLength" else "at least"
        return f"is {len(instance)} characters long; {bound} {value} allowed"
    if keyword in ("maxItems", "minItems"):
        bound = "at most" if keyword == "maxItems" else "at least"
        return f"has {len(instance)} items; {bound} {value} allowed"
    if keyword == "enum":
        return f"{brief(instance)} is not one of {brief(value, 200)}"
    if keyword == "const":
        return f"must be {brief(value)}, not {brief(instance)}"
    if keyword == "required":
        return error.message
    if keyword == "dependentRequired":
        return error.message
    if keyword in WARNING_KEYWORDS:
        return error.message
    text = error.message
    return text if len(text) <= 300 else text[:297] + "..."


def _problems_from(error: SchemaValidationError, prefix: str) -> Iterator[Problem]:
    keyword = error.validator
    path = prefix + pointer(error.absolute_path)
    if keyword in ("anyOf", "oneOf") and error.context:
        # Say which alternative came closest rather than "matches none of them".
        yield from _problems_from(best_match(error.context), prefix)
        return
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        for key in error.instance:
            if not _property_is_declared(error.schema, key) and keyword == "additionalProperties":
                yield Problem(path + pointer([key]), f"property {key!r} is not allowed here", keyword, value=brief(error.instance[key]))
        if keyword == "additionalProperties":
            return
    if keyword == "x-warnUnknownProperties":
        yield Problem(path, error.message, "unknown-field", "warning", brief(error.instance))
        return
    if keyword == "x-warnUnless":
        yield Problem(path, error.validator_value["message"], error.validator_value["rule"], "warning", brief(error.instance))
        return
    yield Problem(path, _message(error), str(keyword), value=None if keyword in ("required", "dependentRequired") else brief(error.instance))


class Compiled:
    """One schema compiled twice: jsonschema for the detailed report (paths, rules, warnings) and,
    when installed, jsonschema-rs for the verdict on the accept path, an order of magnitude faster.

    The two agree on every shipped example and every negative case (tests/test_fast_path.py); our
    warning keywords are unknown to jsonschema-rs, which is right, since they never reject."""

    __slots__ = ("detailed", "fast")

    def __init__(self, detailed: Any, fast: Any) -> None:
        self.detailed = detailed
        self.fast = fast

    def problems(self, instance: Any, prefix: str = "", *, quick: bool = False) -> list[Problem]:
        """Every problem; with `quick`, none at once (warnings unsaid) when the fast validator accepts."""
        if quick and self.fast is not None and self.fast.is_valid(instance):
            return []
        return problems_of(self.detailed, instance, prefix)


class SchemaStore:
    """The registry of shipped schemas and a cache of compiled validators, one per `$id`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        resources = []
        for file in sorted(root.rglob("*.json")):
            try:
                contents = json.loads(file.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise TranslatorError(f"{file}:{exc.lineno}: schema is not valid JSON: {exc.msg}") from exc
            if "$id" not in contents:
                raise TranslatorError(f"{file}: schema has no $id")
            # Not meta-validated here: that took most of a second of every start, and the shipped
            # schemas are checked against the Draft 2020-12 meta-schema by the tests.
            # Without "$schema", jsonschema keeps our validator class when it follows a $ref
            # (it would otherwise switch to the plain Draft 2020-12 class and drop our keywords).
            contents = {key: value for key, value in contents.items() if key != "$schema"}
            resources.append((contents["$id"], DRAFT202012.create_resource(contents)))
        self.ids = frozenset(uri for uri, _ in resources)
        self.registry: Registry = Registry().with_resources(resources).crawl()
        self._compiled: dict[str, Compiled] = {}
        self._fast_only: dict[str, Any] = {}
        self._fast_registry: Any = None

    def has(self, schema_id: str) -> bool:
        return schema_id in self.ids

    def _schema(self, schema_id: str) -> dict[str, Any]:
        try:
            return {"$ref": schema_id} if "#" in schema_id else self.registry.contents(schema_id)
        except NoSuchResource as exc:
            raise TranslatorError(f"no shipped schema has $id {schema_id!r}") from exc

    def compiled(self, key: str, schema: dict[str, Any] | None = None) -> Compiled:
        """Both validators for the shipped schema `key`, or for an ad-hoc `schema` cached as `key`."""
        found = self._compiled.get(key)
        if found is None:
            schema = schema if schema is not None else self._schema(key)
            found = self._compiled[key] = Compiled(_Validator(schema, registry=self.registry), self._fast(self._as_written(schema)))
        return found

    def fast(self, key: str, schema: dict[str, Any] | None = None) -> Any:
        """The jsonschema-rs validator alone (None without it), for a verdict whose detailed
        report, when it fails, comes from another schema."""
        found = self._compiled.get(key)
        if found is not None:
            return found.fast
        if key not in self._fast_only:
            self._fast_only[key] = self._fast(schema if schema is not None else self._as_written(self._schema(key)))
        return self._fast_only[key]

    def _fast(self, schema: dict[str, Any]) -> Any:
        if _rs is None:
            return None
        if self._fast_registry is None:
            # What jsonschema-rs compiles is each schema's verdict form (schema_verdict.py): the same
            # verdicts, sooner. A place inside a schema is reached in a copy as written, below
            # AS_WRITTEN (`_as_written`): the verdict form leaves some places out.
            documents = [(uri, self.registry.contents(uri)) for uri in sorted(self.ids)]
            self._fast_registry = _rs.Registry(
                [(uri, verdict_form(document)) for uri, document in documents]
                + [(AS_WRITTEN + uri.removeprefix(SCHEMA_BASE), {k: v for k, v in document.items() if k != "$id"}) for uri, document in documents]
            )
        return _rs.validator_for(verdict_form(schema), registry=self._fast_registry)

    @staticmethod
    def _as_written(schema: dict[str, Any]) -> dict[str, Any]:
        """A reference to a place inside a shipped schema (`uri#/pointer`) made to its copy as written."""
        ref = schema.get("$ref") if len(schema) == 1 else None
        if isinstance(ref, str) and ref.startswith(SCHEMA_BASE) and "#/" in ref:
            return {"$ref": AS_WRITTEN + ref.removeprefix(SCHEMA_BASE)}
        return schema

def problems_of(validator: Any, instance: Any, prefix: str = "") -> list[Problem]:
    """Every problem `validator` finds in `instance`, paths prefixed with the JSON Pointer `prefix`."""
    found: list[Problem] = []
    for error in validator.iter_errors(instance):
        found.extend(_problems_from(error, prefix))
    return found


@cache
def schema_store() -> SchemaStore:
    """The process-wide store of the shipped schemas (built on first use)."""
    return SchemaStore(data_dir("schemas"))


def schema_id(relative: str) -> str:
    """The `$id` of the shipped schema at `relative` (a path below `schemas/`)."""
    return SCHEMA_BASE + relative
