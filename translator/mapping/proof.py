"""A load-time proof that a mapping's Caliper output conforms whenever its Canvas input does.

The output of a mapping is a tree the mapping fixes (objects, lists, literal keys) with leaves
that come from the event. The prover walks that tree against the output schema (the schema of
the Envelope the full check would pick) and shows, per keyword, that every event the mapping can
build passes it:

- an object's keys are allowed, its required keys always written, its `if`s decided by literal
  leaves (an expression whose values are a finite set of literals, such as an event type taken
  from `vars`, is proven once per value);
- a leaf is (a) a literal, validated once; (b) a copy of an input field whose input schema
  implies the leaf's schema; (c) a converter's result, which conforms by construction
  (`GUARANTEES`, property-tested in tests/test_proof.py); or else (d) checked at run time
  against its own leaf schema only (an expression, or a copy the prover cannot show).

Whatever it cannot show is "not proven": such an event keeps the whole-envelope check. The
implication test is conservative: types, enums, lengths and minimums compare; a pattern is
implied by a pattern whose strings it accepts (patterns.py decides inclusion on the regular
subset the schemas use) or by being one of the schema locations a converter guarantees. The
proof assumes the verdict of jsonschema-rs (`$` ends the text); without it nothing is proven.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any
from urllib.parse import urljoin

from jinja2 import nodes as j

from ..formats.caliper import CANVAS_NAMESPACE, CORE_CONTEXT
from ..pointer import pointer
from ..schema_store import SchemaStore, schema_id
from .expressions import NOT_FIXED, vars_value
from .nodes import OMIT, Const, Copy, Expr, First, Node, Obj, Pointer, Seq
from .patterns import disjoint, implies

Location = str  # "<schema $id>#<JSON pointer>"
_SCHEMAS: dict[tuple[Any, Location], Any] = {}  # (store root, location) -> the schema there; schemas never change
Maybe = bool | None  # a decision: True, False, or cannot tell

_IGNORED = frozenset({"description", "title", "$comment", "examples", "default", "$schema", "$id", "$defs",
                      "x-warnUnless", "x-warnUnknownProperties", "x-verdictPattern"})  # fmt: skip
_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties", "dependentRequired", "patternProperties",
                              "minProperties", "maxProperties", "propertyNames", "unevaluatedProperties"})  # fmt: skip
_ARRAY_KEYWORDS = frozenset({"items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems", "unevaluatedItems"})
_STRING_KEYWORDS = frozenset({"pattern", "maxLength", "minLength", "format"})
_NUMBER_KEYWORDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}

IMS_DEFS = schema_id("caliper/ims/defs.json")
CANVAS_CALIPER_DEFS = schema_id("caliper/canvas/defs.json")
CANVAS_ID_PATTERN = "^[0-9]{1,20}$"
URN_PREFIX = "urn:instructure:canvas:"
_URN_KIND = re.compile(r"[A-Za-z][A-Za-z0-9_/]*")
# A URN kind, maybe followed by segments (`quizzes:quiz`): urn:instructure:canvas:<this>:<id> is a Canvas URN.
_KIND_PATTERN = "^[A-Za-z][A-Za-z0-9_/]*(:[A-Za-z0-9_/]+)*$"
_KIND = re.compile(_KIND_PATTERN[1:-1])
_SEGMENT = re.compile(r"[^\s:]+")  # a URN segment: no whitespace, no colon, not empty
_CANVAS_URN = re.compile(r"urn:instructure:canvas:[A-Za-z][A-Za-z0-9_/]*(:[^\s:]+)+")
# A pattern of one character class over letters, digits, `_` and `-`, repeated at least once:
# every string it accepts is a URN segment.
_TOKEN_PATTERN = re.compile(r"\^\[((?:A-Z|a-z|0-9|[A-Za-z0-9_-])+)\](?:\{[1-9][0-9]*(?:,[0-9]*)?\}|\+)\$")


def _is_kind(value: Any) -> bool:
    return isinstance(value, str) and _KIND.fullmatch(value) is not None


def json_type(value: Any) -> str | None:
    return _JSON_TYPES.get(type(value))


@dataclass(frozen=True)
class Facts:
    """What is known of every value a leaf can take (besides not being null)."""

    types: frozenset[str] | None = None  # JSON types it may have; None: any
    locations: frozenset[Location] = frozenset()  # schemas it is known to satisfy
    patterns: frozenset[str] = frozenset()  # patterns its strings match
    enum: tuple[Any, ...] | None = None  # its only possible values
    max_length: int | None = None
    min_length: int = 0
    minimum: float | None = None
    prefix: str = ""  # a literal start of its strings

    def may_be(self, *types: str) -> bool:
        return self.types is None or any(t in self.types or (t == "number" and "integer" in self.types) for t in types)

    def is_token(self) -> bool:
        """Its strings (if any) are URN segments: a token pattern or token values."""
        if not self.may_be("string"):
            return True
        if self.enum is not None:
            return all(not isinstance(v, str) or _SEGMENT.fullmatch(v) is not None for v in self.enum)
        return any(_token_class(p) for p in self.patterns)


def _token_class(pattern: str) -> bool:
    match = _TOKEN_PATTERN.fullmatch(pattern)
    return bool(match) and set(re.sub("A-Z|a-z|0-9", "", match.group(1))) <= set("_-")


# -- converters: what their results are, by construction ------------------------------------
Guarantee = Callable[[str, Facts], Facts | None]


def _urn_guarantee(kind: str, given: Facts) -> Facts | None:
    if not _URN_KIND.fullmatch(kind) or given.types is None or not given.types <= {"string", "integer", "number", "boolean"}:
        return None
    if not given.is_token():
        return None
    return Facts(frozenset({"string"}), frozenset({f"{IMS_DEFS}#/$defs/entityId", f"{IMS_DEFS}#/$defs/iri",
                 f"{CANVAS_CALIPER_DEFS}#/$defs/canvasUrn"}), prefix=f"{URN_PREFIX}{kind}:")  # fmt: skip


def _gid_guarantee(kind: str, given: Facts) -> Facts | None:
    # A digit-string id stays at most 20 digits when lifted onto a shard (shards come from ids of
    # at most 20 digits); an integer has no such bound in the input schemas.
    if given.types != frozenset({"string"}) or CANVAS_ID_PATTERN not in given.patterns:
        return None
    return Facts(frozenset({"string"}), patterns=frozenset({CANVAS_ID_PATTERN}), max_length=20, min_length=1)


def _time_guarantee(kind: str, given: Facts) -> Facts:
    # converters.time checks its result against this very form (else the mapping fails).
    return Facts(frozenset({"string"}), frozenset({f"{IMS_DEFS}#/$defs/dateTime"}), max_length=24, min_length=24)


def _host_url_guarantee(kind: str, given: Facts) -> Facts:
    # converters.host_url refuses an empty host or one with whitespace.
    return Facts(frozenset({"string"}), frozenset({f"{IMS_DEFS}#/$defs/entityId", f"{IMS_DEFS}#/$defs/iri"}), prefix="http://")


def _role_guarantee(kind: str, given: Facts) -> Facts:
    from ..ids import ENROLLMENT_ROLES

    return Facts(frozenset({"string"}), enum=tuple(sorted(set(ENROLLMENT_ROLES.values()))))


def _string_guarantee(kind: str, given: Facts) -> Facts:
    return given if given.types == frozenset({"string"}) else Facts(frozenset({"string"}))


GUARANTEES: dict[str, Guarantee] = {
    "urn": _urn_guarantee, "gid": _gid_guarantee, "time": _time_guarantee, "host_url": _host_url_guarantee,
    "role": _role_guarantee, "string": _string_guarantee,
}  # fmt: skip


def converter_facts(name: str, given: Facts) -> Facts | None:
    """What converter `name` returns for an input known by `given`; None when nothing is guaranteed."""
    base, _, kind = name.partition(":")
    guarantee = GUARANTEES.get(base)
    return guarantee(kind, given) if guarantee is not None else None


# -- the output tree's leaves the engine writes --------------------------------------------
@dataclass(frozen=True)
class Runtime:
    """A leaf the engine writes around the mapping's event (the event id, sensor, sendTime)."""

    name: str
    facts: Facts | None


@dataclass
class Proof:
    """The outcome for one event type: proven or not, and the leaves to check at run time."""

    proven: bool
    reason: str = ""
    checks: dict[Pointer, set[Location]] = field(default_factory=dict)  # run-time leaf checks by output pointer
    static_leaves: int = 0
    checked_leaves: int = 0


class _NotProven(Exception):
    pass


class Prover:
    """Proves one output tree against one schema location, given the input schemas of its copies."""

    def __init__(self, store: SchemaStore, inputs: dict[str, list[Location]], variables: dict[str, Any]) -> None:
        self.store = store
        self.inputs = inputs  # ctx root ("metadata", "body") -> schema locations of that input
        self.vars = variables
        self.checks: dict[Pointer, set[Location]] = {}
        self.static = 0
        self.known: frozenset[tuple[str, ...]] = frozenset()  # input paths the enclosing guards show non-null

    # -- schemas ------------------------------------------------------------------------
    def schema(self, location: Location) -> Any:
        key = (self.store.root, location)
        if key not in _SCHEMAS:
            uri, _, pointer = location.partition("#")
            value = self.store.registry.contents(uri)
            for part in pointer.split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                value = value[int(part)] if isinstance(value, list) else value[part]
            _SCHEMAS[key] = value
        return _SCHEMAS[key]

    @staticmethod
    def join(location: Location, *keys: str | int) -> Location:
        return location + pointer(keys)

    @staticmethod
    @cache
    def deref(location: Location, ref: str) -> Location:
        target = urljoin(location.partition("#")[0], ref)
        return target if "#" in target else target + "#"

    def normal(self, location: Location) -> Location:
        """`location`, or what it only refers to (`{"$ref": x, "description": ...}` is `x`)."""
        seen = 0
        while seen < 32:
            schema = self.schema(location)
            if not (isinstance(schema, dict) and "$ref" in schema and set(schema) - _IGNORED == {"$ref"}):
                return location
            location, seen = self.deref(location, schema["$ref"]), seen + 1
        return location

    # -- facts about inputs ---------------------------------------------------------------
    def input_facts(self, path: tuple[str, ...]) -> Facts | None:
        locations = list(self.inputs.get(path[0], ()))
        if not locations:
            return None
        for key in path[1:]:
            following: list[Location] = []
            for location in self._conjuncts(locations):
                schema = self.schema(location)
                if not isinstance(schema, dict):
                    continue
                if key in schema.get("properties", {}):
                    following.append(self.join(location, "properties", key))
                elif isinstance(schema.get("additionalProperties"), dict) and not schema.get("patternProperties"):
                    following.append(self.join(location, "additionalProperties"))
            locations = following
        return self._facts_of(self._conjuncts(locations))

    def input_present(self, path: tuple[str, ...]) -> bool:
        """Whether the input always has a non-null value at `path` (required all the way, not
        nullable, or shown by an enclosing `$when`)."""
        if path in self.known or path == ("host",):
            return True
        locations = list(self.inputs.get(path[0], ()))
        if not locations:
            return False
        for key in path[1:]:
            conjuncts = self._conjuncts(locations)
            if not any(key in (self.schema(loc).get("required", ()) if isinstance(self.schema(loc), dict) else ()) for loc in conjuncts):
                return False
            locations = [self.join(loc, "properties", key) for loc in conjuncts
                         if isinstance(self.schema(loc), dict) and key in self.schema(loc).get("properties", {})]  # fmt: skip
        facts = self._facts_of(self._conjuncts(locations), keep_null=True)
        return facts is not None and facts.types is not None and "null" not in facts.types

    def _conjuncts(self, locations: list[Location]) -> list[Location]:
        """The locations and every schema they hold by `$ref` and `allOf`, transitively."""
        found: list[Location] = []
        stack = list(locations)
        while stack and len(found) < 256:
            location = stack.pop()
            if location in found:
                continue
            found.append(location)
            schema = self.schema(location)
            if isinstance(schema, dict):
                if "$ref" in schema:
                    stack.append(self.deref(location, schema["$ref"]))
                stack.extend(self.join(location, "allOf", i) for i in range(len(schema.get("allOf", ()))))
        return found

    def _facts_of(self, locations: list[Location], keep_null: bool = False) -> Facts | None:
        if not locations:
            return None
        facts = Facts(locations=frozenset(self.normal(loc) for loc in locations))
        for location in locations:
            schema = self.schema(location)
            if not isinstance(schema, dict):
                continue
            if "type" in schema:
                wanted = frozenset([schema["type"]] if isinstance(schema["type"], str) else schema["type"])
                if "number" in wanted:
                    wanted |= {"integer"}
                facts = replace(facts, types=wanted if facts.types is None else facts.types & wanted)
            values = [schema["const"]] if "const" in schema else schema.get("enum")
            if values is not None:
                facts = replace(facts, enum=tuple(values) if facts.enum is None else tuple(v for v in facts.enum if v in values))
            if "pattern" in schema:
                facts = replace(facts, patterns=facts.patterns | {_same_pattern(schema["pattern"])})
            if "maxLength" in schema:
                facts = replace(facts, max_length=min(schema["maxLength"], facts.max_length or schema["maxLength"]))
            facts = replace(facts, min_length=max(facts.min_length, schema.get("minLength", 0)))
            if "minimum" in schema:
                facts = replace(facts, minimum=max(schema["minimum"], facts.minimum if facts.minimum is not None else schema["minimum"]))
        if keep_null:
            return facts
        if facts.types is not None:
            facts = replace(facts, types=facts.types - {"null"})  # a copy of null writes nothing
        if facts.enum is not None:
            facts = replace(facts, enum=tuple(v for v in facts.enum if v is not None))
        return facts

    def facts(self, node: Node | Runtime) -> Facts | None:
        if isinstance(node, Runtime):
            return node.facts
        if isinstance(node, Copy):
            if node.path == ("host",):
                given: Facts | None = HOST_FACTS
            else:
                given = Facts() if node.path[0] not in self.inputs else self.input_facts(node.path)
            if given is None:
                return None
            if node.converter is None:
                return given
            return converter_facts(node.converter.name, given)
        if isinstance(node, Expr):
            return self.expression_facts(getattr(node.expression, "tree", None))
        return None

    def expression_facts(self, tree: Any) -> Facts | None:
        """What a helper call or a `~` concatenation of them gives: `urn(kind, id)`, `gid(id)`,
        and a Canvas URN followed by `:`-separated URN segments (a membership id)."""
        if isinstance(tree, j.Call) and isinstance(tree.node, j.Name) and not tree.kwargs and tree.dyn_args is None:
            name, args = tree.node.name, tree.args
            if name == "urn" and len(args) == 2:
                given = self._argument_facts(args[1])
                if given is not None and self._kinds(args[0]):
                    found = _urn_guarantee("kind", given)  # any kind: what is promised does not depend on which
                    return replace(found, prefix=URN_PREFIX) if found is not None else None
            if name == "gid" and len(args) == 1 and (given := self._argument_facts(args[0])) is not None:
                return _gid_guarantee("", given)
            if name == "caliper_role" and len(args) == 1:
                return _role_guarantee("", Facts())
            return None
        if isinstance(tree, j.CondExpr):  # a None branch writes nothing
            branches = [b for b in (tree.expr1, tree.expr2) if b is not None and not (isinstance(b, j.Const) and b.value is None)]
            return self._either([self.expression_facts(b) for b in branches])
        if isinstance(tree, j.Or):  # the left value when truthy, else the right one
            return self._either([self.expression_facts(tree.left), self.expression_facts(tree.right)])
        if (paths := _path_of(tree)) and len(paths) == 1:  # an input value (None writes nothing)
            return self.input_facts(next(iter(paths)))
        if isinstance(tree, j.Concat) and tree.nodes:
            head = self.expression_facts(tree.nodes[0])
            if head is None or f"{CANVAS_CALIPER_DEFS}#/$defs/canvasUrn" not in head.locations:
                return None
            shape = "urn:instructure:canvas:k:T"  # the head, each segment a stand-in
            for part in tree.nodes[1:]:
                if isinstance(part, j.Const) and isinstance(part.value, str):
                    shape += part.value
                elif (segment := self._segment(part)) is not None and segment:
                    shape += "T"
                else:
                    return None
            return head if _CANVAS_URN.fullmatch(shape) else None
        return None

    @staticmethod
    def _either(found: list[Facts | None]) -> Facts | None:
        """What is known of a value that is one of several: what all of them share (types joined)."""
        if not found or any(f is None or f.types is None for f in found):
            return None
        known: list[Facts] = found  # type: ignore[assignment]
        if len(known) == 1:
            return known[0]
        return Facts(frozenset().union(*(f.types for f in known)),  # type: ignore[misc]
                     frozenset.intersection(*(f.locations for f in known)), frozenset.intersection(*(f.patterns for f in known)),
                     None, None if any(f.max_length is None for f in known) else max(f.max_length for f in known),  # type: ignore[type-var]
                     min(f.min_length for f in known))  # fmt: skip

    def _kinds(self, tree: Any) -> bool:
        """Whether every value of `tree` is a URN kind, or a kind and further segments (an asset
        type such as `quizzes:quiz`): literals, a table's values with a literal or input default
        (`vars.kinds.get(body.asset_type, body.asset_type)`), or an input whose pattern says so."""
        values = self.values(tree)
        if values is not None:
            return all(map(_is_kind, values))
        if isinstance(tree, j.Call) and isinstance(tree.node, j.Getattr) and tree.node.attr == "get" and len(tree.args) == 2 and not tree.kwargs:
            table = self._table(tree.node.node)
            return isinstance(table, dict) and all(map(_is_kind, table.values())) and self._kinds(tree.args[1])
        facts = self._argument_facts(tree)
        return facts is not None and facts.types == frozenset({"string"}) and any(implies(p, _KIND_PATTERN) for p in facts.patterns)

    def _segment(self, tree: Any) -> bool | None:
        """True when every value of `tree` is a URN segment (no whitespace, no colon, not empty)."""
        values = self.values(tree)
        if values is not None:
            return all(isinstance(v, str) and _SEGMENT.fullmatch(v) is not None for v in values)
        if isinstance(tree, j.CondExpr) and tree.expr2 is not None:
            return bool(self._segment(tree.expr1)) and bool(self._segment(tree.expr2))
        facts = self.expression_facts(tree)
        if facts is None:
            return None
        if facts.enum is not None:
            return all(isinstance(v, str) and _SEGMENT.fullmatch(v) is not None for v in facts.enum)
        return facts.types == frozenset({"string"}) and CANVAS_ID_PATTERN in facts.patterns

    def _argument_facts(self, tree: Any) -> Facts | None:
        """Facts of an input path argument (`metadata.user_id`, `body.get('x')`), else None."""
        paths = _path_of(tree)
        if len(paths) != 1:
            return None
        (path,) = paths
        return self.input_facts(path)

    # -- what a node writes -------------------------------------------------------------
    def values(self, expression: Any) -> list[Any] | None:
        """Every value an expression can have, when they are a few literals; else None."""
        if isinstance(expression, j.Const):
            return [expression.value]
        if isinstance(expression, j.CondExpr):
            first, second = self.values(expression.expr1), self.values(expression.expr2) if expression.expr2 is not None else [None]
            return None if first is None or second is None else first + second
        table = self._table(expression)
        if isinstance(expression, j.Getitem) and isinstance(table, dict):
            return list(table.values())
        if isinstance(expression, j.Call) and isinstance(expression.node, j.Getattr) and expression.node.attr == "get":
            mapping = self._table(expression.node.node)
            if isinstance(mapping, dict) and 1 <= len(expression.args) <= 2 and not expression.kwargs:
                default = self.values(expression.args[1]) if len(expression.args) == 2 else [None]
                return None if default is None else [*mapping.values(), *default]
        return None

    def _table(self, expression: Any) -> Any:
        """The constant a `vars.a.b` (or `vars.a` for a Getitem's node) denotes, else None."""
        if isinstance(expression, j.Getitem):
            expression = expression.node
        found = vars_value(expression, self.vars)
        return None if found is NOT_FIXED else found

    def expression_values(self, node: Expr) -> list[Any] | None:
        tree = getattr(node.expression, "tree", None)
        found = self.values(tree) if tree is not None else None
        if found is None or not all(json_type(v) is not None and not isinstance(v, (dict, list)) for v in found):
            return None
        return found

    def present(self, node: Node | Runtime) -> bool:
        """Never left out."""
        if isinstance(node, (Const, Runtime)):
            return node.value is not OMIT if isinstance(node, Const) else True
        if isinstance(node, Copy):
            return node.default is not OMIT or self.input_present(node.path)
        if isinstance(node, Expr):
            if _never_none(getattr(node.expression, "tree", None)):
                return True
            values = self.expression_values(node)
            return values is not None and None not in values
        if isinstance(node, (Obj, Seq, First)):
            guarded = isinstance(node, Obj) and node.when is not None and not self.guard_holds(node.when)
            return not guarded and any(self.present(c) for c in _children(node))
        return False

    def guard_holds(self, guard: Node) -> bool:
        """A `$when` that always holds: a copy of an input that is always there and never a value
        the guard reads as false (false, or an empty string)."""
        if not (isinstance(guard, Copy) and guard.converter is None and self.input_present(guard.path)):
            return False
        facts = self.input_facts(guard.path)
        if facts is None or facts.types is None or "boolean" in facts.types:
            return False
        return "string" not in facts.types or facts.min_length > 0 or any(disjoint(p, "^$") for p in facts.patterns)

    def possible(self, node: Node | Runtime) -> bool:
        """May be written."""
        if isinstance(node, Const):
            return node.value is not OMIT
        if isinstance(node, Expr):
            values = self.expression_values(node)
            return values is None or any(v is not None for v in values)
        if isinstance(node, (Obj, Seq, First)):
            return any(self.possible(child) for child in _children(node))
        return True

    def reachable(self, node: First) -> list[Node]:
        """The alternatives that may give the value: each that may write one, up to the first
        that always does (the rest are never tried)."""
        found = []
        for alternative in node.alternatives:
            if self.possible(alternative):
                found.append(alternative)
                if self.present(alternative):
                    break
        return found

    def marked(self, node: Node | Runtime) -> bool:
        """Always written with a Canvas extension or a Canvas URN in it (the full check's profile
        is then "canvas")."""
        if isinstance(node, Const):
            return _has_marker(node.value)
        if isinstance(node, Obj):
            return self.present(node) and any((key == CANVAS_NAMESPACE and self.present(child)) or self.marked(child) for key, child in node.items)
        if isinstance(node, Seq):
            return any(self.marked(child) for child in node.items)
        if isinstance(node, First):
            return self.present(node) and all(self.marked(a) for a in self.reachable(node))
        if isinstance(node, Copy):
            return self.present(node) and node.converter is not None and node.converter.name.startswith("urn:")
        return False

    def generic_form(self, event: Obj) -> bool | None:
        """Whether the event is always (True) or never (False) our generic form, as the full check
        tells it: an Event whose Canvas extension holds `metadata`."""
        node: Node | Runtime = event
        for key in ("extensions", CANVAS_NAMESPACE, "metadata"):
            child = dict(node.items).get(key) if isinstance(node, Obj) else None
            if not isinstance(node, Obj):
                return None
            if child is None or not self.possible(child):
                return False
            node = child
        chain = [event, dict(event.items)["extensions"]]
        return True if all(self.present(n) for n in (*chain[1:], dict(chain[1].items)[CANVAS_NAMESPACE], node)) else None

    # -- the proof ----------------------------------------------------------------------
    def conforms(self, value: Any, location: Location) -> bool:
        compiled = self.store.compiled(location)
        return compiled.fast.is_valid(value) if compiled.fast is not None else not any(p.is_error for p in compiled.problems(value))

    def prove(self, node: Node | Runtime, location: Location, at: Pointer | None) -> None:
        """Return when every value `node` writes conforms to `location`; raise _NotProven else."""
        schema = self.schema(location)
        if schema is True or (isinstance(schema, dict) and not set(schema) - _IGNORED):
            return
        if not isinstance(schema, dict):
            raise _NotProven(f"{location} accepts nothing ({_show(at)})")
        if isinstance(node, First):
            for alternative in self.reachable(node):
                self.prove(alternative, location, at)
            return
        if isinstance(node, Const):
            if not self.conforms(node.value, location):
                raise _NotProven(f"the literal {node.value!r} at {_show(at)} does not conform to {location}")
            self.static += 1
            return
        if isinstance(node, Expr) and (values := self.expression_values(node)) is not None:
            for value in values:
                if value is not None and not self.conforms(value, location):
                    raise _NotProven(f"the expression at {_show(at)} may give {value!r}, not conforming to {location}")
            self.static += 1
            return
        if isinstance(node, (Copy, Expr, Runtime)):
            facts = self.facts(node)
            if facts is not None and self.implied(facts, location):
                self.static += 1
                return
            if at is None:
                raise _NotProven(f"a leaf at no fixed place cannot be checked against {location}")
            self.checks.setdefault(at, set()).add(self.normal(location))
            return
        for variant in self._variants(node):
            self._prove_container(variant, location, at)

    def _variants(self, node: Obj | Seq) -> Iterator[Obj | Seq]:
        """An object whose `type` is one of a few literals, once per literal."""
        if isinstance(node, Obj):
            for index, (key, child) in enumerate(node.items):
                if key == "type" and isinstance(child, Expr) and (values := self.expression_values(child)) is not None:
                    for value in dict.fromkeys(values):
                        items = list(node.items)
                        items[index] = (key, Const(value if value is not None else OMIT, child.origin))
                        yield Obj(tuple(items), node.when, node.origin)
                    return
        yield node

    def _prove_container(self, node: Obj | Seq, location: Location, at: Pointer | None) -> None:
        outer = self.known
        if isinstance(node, Obj) and node.when is not None:
            self.known = outer | _guarded_paths(node.when, self._table)
        try:
            self._prove_keywords(node, location, at)
        finally:
            self.known = outer

    def _prove_keywords(self, node: Obj | Seq, location: Location, at: Pointer | None) -> None:
        schema = self.schema(location)
        kind = "object" if isinstance(node, Obj) else "array"
        for keyword, value in schema.items():
            if keyword in _IGNORED or keyword in ("then", "else"):
                continue
            if keyword == "$ref":
                self.prove(node, self.deref(location, value), at)
            elif keyword == "allOf":
                for index in range(len(value)):
                    self.prove(node, self.join(location, "allOf", index), at)
            elif keyword == "type":
                if kind not in ([value] if isinstance(value, str) else value):
                    raise _NotProven(f"{_show(at)} is an {kind}, {location} wants {value}")
            elif keyword == "if":
                decided = self.decide(node, self.join(location, "if"))
                for branch in ("then", "else"):
                    if branch in schema and decided is not (branch == "else"):
                        self.prove(node, self.join(location, branch), at)
            elif keyword in _STRING_KEYWORDS or keyword in _NUMBER_KEYWORDS:
                continue  # they apply to strings and numbers only
            elif kind == "object" and keyword in _OBJECT_KEYWORDS:
                self._object_keyword(node, keyword, location, at)  # type: ignore[arg-type]
            elif kind == "array" and keyword in _ARRAY_KEYWORDS:
                self._array_keyword(node, keyword, location, at)  # type: ignore[arg-type]
            elif keyword in _OBJECT_KEYWORDS or keyword in _ARRAY_KEYWORDS:
                continue
            else:
                raise _NotProven(f"{keyword!r} at {location} is beyond the prover ({_show(at)})")

    def _object_keyword(self, node: Obj, keyword: str, location: Location, at: Pointer | None) -> None:
        schema = self.schema(location)
        children = dict(node.items)
        if keyword == "properties":
            for key, child in node.items:
                if key in schema["properties"] and self.possible(child):
                    self.prove(child, self.join(location, "properties", key), _at(at, key))
        elif keyword == "required":
            for key in schema["required"]:
                if key not in children or not self.present(children[key]):
                    raise _NotProven(f"{key!r} is required by {location} and may be left out at {_show(at)}")
        elif keyword == "additionalProperties":
            declared = schema.get("properties", {})
            for key, child in node.items:
                if key in declared or not self.possible(child):
                    continue
                if schema["additionalProperties"] is False:
                    raise _NotProven(f"{key!r} at {_show(at)} is not allowed by {location}")
                self.prove(child, self.join(location, "additionalProperties"), _at(at, key))
        elif keyword == "dependentRequired":
            for key, needed in schema[keyword].items():
                if key in children and self.possible(children[key]):
                    if not all(n in children and self.present(children[n]) for n in needed):
                        raise _NotProven(f"{key!r} at {_show(at)} needs {needed} ({location})")
        else:
            raise _NotProven(f"{keyword!r} at {location} is beyond the prover ({_show(at)})")

    def _array_keyword(self, node: Seq, keyword: str, location: Location, at: Pointer | None) -> None:
        schema = self.schema(location)
        fixed = True
        if keyword == "items":
            for index, child in enumerate(node.items):
                if self.possible(child):
                    self.prove(child, self.join(location, "items"), _at(at, index) if fixed else None)
                fixed = fixed and self.present(child)
        elif keyword == "prefixItems":
            for index, child in enumerate(node.items[: len(schema[keyword])]):
                if not fixed:
                    raise _NotProven(f"{_show(at)}: an item before {index} may be left out ({location})")
                if self.possible(child):
                    self.prove(child, self.join(location, "prefixItems", index), _at(at, index))
                fixed = self.present(child)
        elif keyword == "minItems":
            if sum(self.present(child) for child in node.items) < schema[keyword]:
                raise _NotProven(f"{_show(at)} may have fewer than {schema[keyword]} items")
        elif keyword == "maxItems":
            if len(node.items) > schema[keyword]:
                raise _NotProven(f"{_show(at)} may have more than {schema[keyword]} items")
        else:
            raise _NotProven(f"{keyword!r} at {location} is beyond the prover ({_show(at)})")

    # -- deciding an `if` ------------------------------------------------------------------
    def decide(self, node: Node | Runtime, location: Location) -> Maybe:
        """Whether every value `node` writes passes `location` (True), none does (False), or either."""
        schema = self.schema(location)
        if isinstance(node, Const):
            return self.conforms(node.value, location)
        if isinstance(node, First):
            decisions = {self.decide(a, location) for a in self.reachable(node)}
            return decisions.pop() if len(decisions) == 1 else None
        if isinstance(node, Expr) and (values := self.expression_values(node)) is not None:
            decisions = {self.conforms(v, location) for v in values if v is not None}
            return decisions.pop() if len(decisions) == 1 else None
        if not isinstance(schema, dict):
            return bool(schema)
        result: Maybe = True
        for keyword, value in schema.items():
            if keyword in _IGNORED:
                continue
            result = _both(result, self._decide_keyword(node, keyword, value, location))
            if result is False:
                return False
        return result

    def _decide_keyword(self, node: Node | Runtime, keyword: str, value: Any, location: Location) -> Maybe:
        if keyword == "$ref":
            return self.decide(node, self.deref(location, value))
        if keyword == "allOf":
            result: Maybe = True
            for index in range(len(value)):
                result = _both(result, self.decide(node, self.join(location, "allOf", index)))
            return result
        if isinstance(node, (Obj, Seq)):
            kind = "object" if isinstance(node, Obj) else "array"
            if keyword == "type":
                return kind in ([value] if isinstance(value, str) else value)
            if keyword in _STRING_KEYWORDS or keyword in _NUMBER_KEYWORDS or (kind == "object") == (keyword in _ARRAY_KEYWORDS):
                return True
            if isinstance(node, Obj) and keyword == "required":
                children = dict(node.items)
                if all(k in children and self.present(children[k]) for k in value):
                    return True
                return False if any(k not in children or not self.possible(children[k]) for k in value) else None
            if isinstance(node, Obj) and keyword == "properties":
                result = True
                for key, child in node.items:
                    if key in value and self.possible(child):
                        decided = self.decide(child, self.join(location, "properties", key))
                        # a key that may be left out passes when left out
                        result = _both(result, decided if self.present(child) or decided is True else None)
                return result
            return None
        facts = self.facts(node)
        if facts is None:
            return None
        if keyword == "type":
            allowed = {value} if isinstance(value, str) else set(value)
            allowed |= {"integer"} if "number" in allowed else set()
            if facts.types is not None and facts.types <= allowed:
                return True
            return False if facts.types is not None and not facts.types & allowed else None
        if keyword == "pattern":
            if not facts.may_be("string"):
                return True
            literal = _literal_prefix(value)
            if literal is not None and facts.types == frozenset({"string"}):
                if facts.prefix.startswith(literal):
                    return True
                if not literal.startswith(facts.prefix[: len(literal)]):
                    return False
            if facts.types == frozenset({"string"}):
                if any(implies(given, value) for given in facts.patterns):
                    return True
                if any(disjoint(given, value) for given in facts.patterns):
                    return False
            return None
        return None

    # -- implication: every value with these facts passes the schema -------------------------
    def implied(self, facts: Facts, location: Location) -> bool:
        if self.normal(location) in facts.locations or location in facts.locations:
            return True
        if facts.enum is not None:  # a few values: each validated
            return all(self.conforms(value, location) for value in facts.enum)
        schema = self.schema(location)
        if schema is True:
            return True
        if not isinstance(schema, dict):
            return False
        for keyword, value in schema.items():
            if keyword in _IGNORED or keyword in ("then", "else"):
                continue
            if not self._implies(facts, keyword, value, location, schema):
                return False
        return True

    def _implies(self, facts: Facts, keyword: str, value: Any, location: Location, schema: dict[str, Any]) -> bool:  # noqa: C901
        if keyword == "$ref":
            return self.implied(facts, self.deref(location, value))
        if keyword == "allOf":
            return all(self.implied(facts, self.join(location, "allOf", i)) for i in range(len(value)))
        if keyword == "if":
            decided = self.decide(Runtime("facts", facts), self.join(location, "if"))
            return all(
                self.implied(facts, self.join(location, branch))
                for branch in ("then", "else")
                if branch in schema and decided is not (branch == "else")
            )
        if keyword == "type":
            allowed = {value} if isinstance(value, str) else set(value)
            allowed |= {"integer"} if "number" in allowed else set()
            return facts.types is not None and facts.types <= allowed
        if keyword in ("enum", "const"):
            return False
        if keyword in _STRING_KEYWORDS:
            if not facts.may_be("string"):
                return True
            if keyword == "pattern":
                wanted = _same_pattern(value)
                return wanted in facts.patterns or any(implies(given, wanted) for given in facts.patterns)
            if keyword == "maxLength":
                return facts.max_length is not None and facts.max_length <= value
            if keyword == "minLength":
                return facts.min_length >= value
            return False
        if keyword in _NUMBER_KEYWORDS:
            if not facts.may_be("number"):
                return True
            return keyword == "minimum" and facts.minimum is not None and facts.minimum >= value
        if keyword in _OBJECT_KEYWORDS:
            return not facts.may_be("object")
        if keyword in _ARRAY_KEYWORDS:
            return not facts.may_be("array")
        return False


# Helpers that return a string or raise, never None.
_STRING_HELPERS = frozenset({"urn", "gid", "cid", "canvas_id", "generic_object_id", "caliper_time", "caliper_role", "canvas_role"})


def _never_none(tree: Any) -> bool:
    """An expression that cannot give None (so its key is always written, or the mapping fails)."""
    if isinstance(tree, j.Const):
        return tree.value is not None
    if isinstance(tree, j.Concat):
        return True
    if isinstance(tree, j.CondExpr):
        return tree.expr2 is not None and _never_none(tree.expr1) and _never_none(tree.expr2)
    if isinstance(tree, j.Call) and isinstance(tree.node, j.Name):
        return tree.node.name in _STRING_HELPERS
    return isinstance(tree, j.Filter) and tree.name in ("string", "int", "float", "length", "join", "lower", "upper")


def _guarded_paths(guard: Copy | Expr, table: Callable[[Any], Any]) -> frozenset[tuple[str, ...]]:
    """Input paths that are not null whenever `guard` holds (`$when: $metadata.user_id`, or an
    expression joining `x.get('k') is not none`, `x.k == 'literal'`, `x.get('k') in vars.y` with `and`)."""
    if isinstance(guard, Copy):
        return frozenset({guard.path})
    found: set[tuple[str, ...]] = set()
    stack = [getattr(guard.expression, "tree", None)]
    while stack:
        node = stack.pop()
        if isinstance(node, j.And):
            stack += [node.left, node.right]
        elif isinstance(node, j.Not) and isinstance(node.node, j.Test) and node.node.name == "none":
            found.update(_path_of(node.node.node))
        elif isinstance(node, j.Compare) and len(node.ops) == 1:
            operand = node.ops[0]
            if operand.op == "eq" and isinstance(operand.expr, j.Const) and operand.expr.value is not None:
                found.update(_path_of(node.expr))
            elif operand.op == "in" and isinstance(keys := table(operand.expr), dict) and None not in keys:
                found.update(_path_of(node.expr))  # a key of a table in vars, which has no null key
    return frozenset(found)


def _path_of(node: Any) -> set[tuple[str, ...]]:
    """The input path `metadata.k`, `metadata.get('k')`, `body.a.b` denotes, if it is one."""
    if isinstance(node, j.Call) and isinstance(node.node, j.Getattr) and node.node.attr == "get":
        if len(node.args) == 1 and not node.kwargs and isinstance(node.args[0], j.Const) and isinstance(node.args[0].value, str):
            return {(*parent, node.args[0].value) for parent in _path_of(node.node.node)}
        return set()
    keys: list[str] = []
    while isinstance(node, j.Getattr):
        keys.append(node.attr)
        node = node.node
    if isinstance(node, j.Name) and node.name in ("metadata", "body"):
        return {(node.name, *reversed(keys))}
    return set()


def _same_pattern(pattern: str) -> str:
    """One spelling of patterns that differ only in writing `\\S` as `[^\\s]`."""
    return pattern.replace("[^\\s]", "\\S")


def _has_marker(value: Any) -> bool:
    if isinstance(value, dict):
        return CANVAS_NAMESPACE in value or any(_has_marker(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_marker(v) for v in value)
    return isinstance(value, str) and value.startswith(URN_PREFIX)


def _children(node: Obj | Seq | First) -> tuple[Node, ...]:
    if isinstance(node, Obj):
        return tuple(child for _, child in node.items)
    return node.items if isinstance(node, Seq) else node.alternatives


def _both(a: Maybe, b: Maybe) -> Maybe:
    if a is False or b is False:
        return False
    return True if a is True and b is True else None


def _at(at: Pointer | None, key: str | int) -> Pointer | None:
    return None if at is None else (*at, key)


def _show(at: Pointer | None) -> str:
    return (pointer(at) or "/") if at is not None else "(no fixed place)"


def _literal_prefix(pattern: str) -> str | None:
    """The literal text a pattern `^literal` requires at the start; None for any other pattern."""
    match = re.fullmatch(r"\^((?:[A-Za-z0-9:_/ -]|\\[.:/-])*)", pattern)
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match else None


# -- one Canvas event type's Envelope ------------------------------------------------------
SHELL = schema_id("caliper/ims/envelope.json") + "#/$defs/shell"
EVENT_ID_FACTS = Facts(frozenset({"string"}), frozenset({f"{IMS_DEFS}#/$defs/eventId"}))
HOST_FACTS = Facts(frozenset({"string"}), min_length=1)  # engine.canvas_host: a non-empty string, or no event
SEND_TIME_FACTS = _time_guarantee("", Facts())  # engine._send_time: converters.date_time's result, as the `time` converter's
SENSOR_FACTS = Facts(frozenset({"string"}), min_length=len("http:///"), prefix="http://")

Route = tuple[str, str]  # (schema type name, profile) the full check picks for an event


def event_node(template: Obj) -> Obj:
    """The event the engine writes: `@context` and `id` first, then the mapping's keys (which win)."""
    items = dict((("@context", Const(CORE_CONTEXT, "engine")), ("id", Runtime("id", EVENT_ID_FACTS))))
    items.update(template.items)
    return Obj(tuple(items.items()), template.when, template.origin)


def envelope_node(event: Obj) -> Obj:
    return Obj(
        (("sensor", Runtime("sensor", SENSOR_FACTS)), ("sendTime", Runtime("sendTime", SEND_TIME_FACTS)),
         ("dataVersion", Const(CORE_CONTEXT, "engine")), ("data", Seq((event,), "engine"))),
        None, "engine",
    )  # fmt: skip


def prove_forward(template: Obj, variables: dict[str, Any], inputs: dict[str, list[Location]], store: SchemaStore) -> tuple[Proof, dict[str, Route]]:
    """The proof for a mapping's output, and the route of the full check per event type it writes
    (empty when the route cannot be told before the event is built)."""
    from ..formats.caliper import EVENT_TYPES, schema_id_for

    prover = Prover(store, inputs, variables)
    event = event_node(template)
    children = dict(event.items)
    context, type_node = children["@context"], children.get("type")
    if template.when is not None or not (isinstance(context, Const) and context.value == CORE_CONTEXT):
        return Proof(False, "the event's @context or presence is computed"), {}
    if isinstance(type_node, Const):
        values: list[Any] | None = [type_node.value]
    else:
        values = prover.expression_values(type_node) if isinstance(type_node, Expr) else None
    if not values or not all(isinstance(v, str) and v in EVENT_TYPES for v in values):
        return Proof(False, "the event type is not one of a few Caliper event type literals"), {}
    routes: dict[str, Route] = {}
    variants: dict[str, Obj] = {}
    for value in dict.fromkeys(values):
        variant = Obj(tuple((k, Const(value, "type") if k == "type" else c) for k, c in event.items), None, event.origin)
        generic = prover.generic_form(variant) if value == "Event" else False
        if not prover.marked(variant) or generic is None:
            return Proof(False, "which Caliper profile checks the event depends on the event"), {}
        routes[value] = ("GenericEvent" if generic else value, "canvas")
        variants[value] = variant
    try:
        for value, variant in variants.items():
            prover.prove(envelope_node(variant), SHELL, ())
            prover.prove(variant, schema_id_for(*routes[value]) + "#", ("data", 0))
    except _NotProven as exc:
        return Proof(False, str(exc)), routes
    return Proof(True, checks=prover.checks, static_leaves=prover.static, checked_leaves=len(prover.checks)), routes
