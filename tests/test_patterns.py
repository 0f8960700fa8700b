"""Pattern inclusion and disjointness (mapping/patterns.py), which the proof relies on.

A True answer is a promise: every string the first pattern accepts the second accepts (or
rejects, for `disjoint`), as the validator reads them. Checked against jsonschema-rs on strings
drawn from the patterns, against `re.fullmatch` on every short string of a small alphabet for
random patterns, and on the schemas' own patterns.
"""

from __future__ import annotations

import itertools
import json
import re

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translator.mapping.patterns import _SPACE_CANDIDATES, disjoint, implies, whitespace
from translator.resources import data_dir


def accepts(pattern: str, text: str) -> bool:
    return bool(jsonschema_rs.validator_for({"type": "string", "pattern": pattern}).is_valid(text))


def schema_patterns() -> list[str]:
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for file in data_dir("schemas").rglob("*.json"):
        walk(json.loads(file.read_text(encoding="utf-8")))
    return sorted(found)


PATTERNS = schema_patterns()
PAIRS = [(p, q) for p in PATTERNS for q in PATTERNS if p != q]
IMPLIED = [(p, q) for p, q in PAIRS if implies(p, q)]
DISJOINT = [(p, q) for p, q in PAIRS if disjoint(p, q)]


@pytest.mark.parametrize(
    ("given_", "wanted", "witness"),
    [
        # Canvas input patterns and the Caliper extension patterns they are copied into
        ("^[A-Z][A-Za-z]*$", "^[A-Z][A-Za-z0-9]*(::[A-Z][A-Za-z0-9]*)*$", "Quizzes::Quiz"),
        ("^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$", "^[0-9A-Fa-f:.]+$", "1.2"),
        ("^[a-z][a-z0-9_]*([:/][a-z][a-z0-9_]*)*$", "^[a-z_][a-z0-9_]*([/:][a-z_][a-z0-9_]*)*$", "_x"),
        ("^https?://[^\\s]+$", "^([A-Za-z][A-Za-z0-9+.\\-]*:[^\\s]+|_:[^\\s]+)$", "_:b0"),
        ("^[0-9]{1,20}$", "^[0-9]{1,20}$|^urn:instructure:canvas:[A-Za-z][A-Za-z0-9_/]*(:[^\\s:]+)+$", "urn:instructure:canvas:course:1"),
        ("^abc", "^ab", "abd"),  # open at the end: the rest of the text is anything
        ("abc", "b", "b"),  # open at both ends
        ("^a+$", "^a*$", ""),
    ],
)
def test_inclusion_holds_one_way_and_the_witness_shows_the_other(given_: str, wanted: str, witness: str) -> None:
    assert implies(given_, wanted)
    assert not implies(wanted, given_)
    assert accepts(wanted, witness) and not accepts(given_, witness)


@pytest.mark.parametrize(
    ("given_", "wanted", "witness"),
    [
        ("^[0-9]{1,21}$", "^[0-9]{1,20}$", "1" * 21),
        ("^https?://\\S+$", "^https?://[a-z]+$", "http://A"),
        ("^[^\\s]+$", "^[^\\s\\ufeff]+$", "\ufeff"),  # the validator's \s holds U+FEFF: probed, not assumed
        ("^a", "^a$", "ab"),
    ],
)
def test_inclusion_that_fails_is_not_claimed(given_: str, wanted: str, witness: str) -> None:
    holds = accepts(given_, witness) and not accepts(wanted, witness)
    assert implies(given_, wanted) is not holds


@pytest.mark.parametrize(
    "pattern",
    ["^(?=a)a$", "^a.$", "^\\d+$", "^\\w+$", "^(a)\\1$", "^a$b", "^[]a$", "^a{2,1}$", "^(a$", "^a|b)$", "^a{x}$", "^a**$"],
)
def test_syntax_outside_the_subset_is_never_claimed(pattern: str) -> None:
    other = pattern + "x"
    assert not implies(pattern, other) and not disjoint(pattern, other)
    assert implies(pattern, pattern)  # the same text: the same strings, whatever it means


def test_disjoint_patterns_share_no_string() -> None:
    assert disjoint("^https?://[^\\s]+$", "^urn:instructure:canvas:")
    assert disjoint("^[a-z]+$", "^[0-9]")
    assert not disjoint("^a", "b")  # "ab"
    assert not disjoint("^[0-9]{1,20}$", "^[0-9]{1,3}$")


def test_whitespace_is_what_the_validator_reads_as_whitespace() -> None:
    space = whitespace()
    for char in _SPACE_CANDIDATES + "ax0\u00b7":
        inside = any(low <= ord(char) <= high for low, high in space)
        assert inside == accepts("^\\s$", char), repr(char)


def test_the_schemas_patterns_give_useful_answers() -> None:
    assert len(IMPLIED) >= 20
    assert ("^[A-Z][A-Za-z]*$", "^[A-Z][A-Za-z0-9]*(::[A-Z][A-Za-z0-9]*)*$") in IMPLIED


@pytest.mark.parametrize(("given_", "wanted"), IMPLIED, ids=lambda p: p[:24])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_claimed_inclusions_of_the_schemas_hold_on_drawn_strings(given_: str, wanted: str, data: st.DataObject) -> None:
    text = data.draw(st.from_regex(given_))
    if accepts(given_, text):  # Python's reading may differ ($ before a newline): the validator's counts
        assert accepts(wanted, text), text


@pytest.mark.parametrize(("given_", "other"), DISJOINT[:200], ids=lambda p: p[:24])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_claimed_disjoint_schema_patterns_share_no_drawn_string(given_: str, other: str, data: st.DataObject) -> None:
    text = data.draw(st.from_regex(given_))
    if accepts(given_, text):
        assert not accepts(other, text), text


# -- random patterns over a small alphabet, against re.fullmatch on every short string ----------
ALPHABET = "ab-"
SHORT = ["".join(chars) for size in range(6) for chars in itertools.product(ALPHABET, repeat=size)]


def regexes() -> st.SearchStrategy[str]:
    atoms = st.sampled_from(["a", "b", "\\-", "[ab]", "[^a]", "[a-b]", "[-a]"])
    quantifiers = st.sampled_from(["", "", "*", "+", "?", "{2}", "{1,2}", "{0,}"])

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        quantified = st.tuples(inner, quantifiers).map(lambda iq: f"(?:{iq[0]}){iq[1]}" if iq[1] else iq[0])
        sequence = st.lists(quantified, min_size=1, max_size=3).map("".join)
        return st.one_of(sequence, st.tuples(sequence, sequence).map(lambda ab: f"({ab[0]}|{ab[1]})"), sequence.map(lambda s: f"(?:{s})"))

    return st.recursive(atoms, extend, max_leaves=6)


def language(pattern: str) -> set[str]:
    return {text for text in SHORT if re.fullmatch(pattern, text)}


@settings(max_examples=300, deadline=None)
@given(first=regexes(), second=regexes())
def test_answers_on_random_patterns_hold_on_every_short_string(first: str, second: str) -> None:
    mine, theirs = language(first), language(second)
    if implies(f"^{first}$", f"^{second}$"):
        assert mine <= theirs
    if disjoint(f"^{first}$", f"^{second}$"):
        assert not mine & theirs

