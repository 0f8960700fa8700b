"""The mapping expression language: what each form evaluates to, and how each misuse fails."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from translator.mapping.expressions import ExpressionError, compile_expression

VARIABLES: dict[str, Any] = {
    "x": 2,
    "n": None,
    "s": "ab_cd",
    "l": [1, 2, 3],
    "d": {"a": {"b": 5}, "k": "v", "zero": 0},
    "m": {"Course": "course"},
    "shard": 7,
}

VALUES = [
    ("1", 1),
    ("'a'", "a"),
    ("true", True),
    ("False", False),
    ("none", None),
    ("[1, x]", [1, 2]),
    ("(1, x)", [1, 2]),
    ("{'a': x}", {"a": 2}),
    ("x", 2),
    ("d.k", "v"),
    ("d.a.b", 5),
    ("d['a']['b']", 5),
    ("l[0]", 1),
    ("l[-1]", 3),
    ("m[d.k == 'v' and 'Course' or 'x']", "course"),
    ("s[1:3]", "b_"),
    ("s[:2]", "ab"),
    ("l[1:]", [2, 3]),
    ("d.get('k')", "v"),
    ("d.get('missing')", None),
    ("d.get('missing', 4)", 4),
    ("d.keys() | length", 3),
    ("s.rsplit('_', 1)[-1]", "cd"),
    ("s.upper()", "AB_CD"),
    ("s.replace('_', '-')", "ab-cd"),
    ("s.startswith('ab')", True),
    ("x is defined", True),
    ("y is defined", False),
    ("y is undefined", True),
    ("d.missing is defined", False),
    ("l[9] is defined", False),
    ("n is none", True),
    ("x is none", False),
    ("y is none", False),
    ("n is not none", False),
    ("d is mapping", True),
    ("s is string", True),
    ("x is number", True),
    ("true is number", False),
    ("true is boolean", True),
    ("l is sequence", True),
    ("x and s", "ab_cd"),
    ("n and y", None),
    ("n or 'fallback'", "fallback"),
    ("x or y", 2),
    ("not n", True),
    ("'a' if x else 'b'", "a"),
    ("'a' if n else 'b'", "b"),
    ("'a' if n", None),
    ("x == 2", True),
    ("x != 2", False),
    ("1 < x <= 2", True),
    ("3 < x < 9", False),
    ("'b' in s", True),
    ("'q' not in s", True),
    ("'Course' in m", True),
    ("s ~ '-' ~ x", "ab_cd-2"),
    ("x + 2", 4),
    ("x - 3", -1),
    ("x * 3", 6),
    ("x / 4", 0.5),
    ("7 // x", 3),
    ("7 % x", 1),
    ("x ** 3", 8),
    ("-x", -2),
    ("s | upper", "AB_CD"),
    ("'AB' | lower", "ab"),
    ("x | string", "2"),
    ("'3' | int", 3),
    ("'1.5' | float", 1.5),
    ("l | length", 3),
    ("l | join('-')", "1-2-3"),
    ("l | join", "123"),
    ("l | first", 1),
    ("l | last", 3),
    ("urn('course', '5')", "urn:instructure:canvas:course:70000000000005"),
    ("urn('session', 'abc')", "urn:instructure:canvas:session:abc"),
    ("gid(5)", "70000000000005"),
    ("gid('30000000000005')", "30000000000005"),
    ("urn_parts('urn:instructure:canvas:course:5')", ["course", "5"]),
    ("caliper_time('2019-01-02T03:04:05Z')", "2019-01-02T03:04:05.000Z"),
    ("caliper_role('StudentEnrollment')", "Learner"),
    ("has_caliper_role('StudentEnrollment')", True),
    ("has_caliper_role('Nobody')", False),
    ("generic_object_id('thing_created', {'thing_id': '5'})", "urn:instructure:canvas:thing:70000000000005"),
    ("generic_object_id('thing_created', {})", "urn:instructure:canvas:live_event:thing_created"),
]


@pytest.mark.parametrize(("source", "expected"), VALUES, ids=[source for source, _ in VALUES])
def test_an_expression_evaluates_to(source: str, expected: Any) -> None:
    value = compile_expression(source)(dict(VARIABLES))
    assert value == expected and type(value) is type(expected)


RUNTIME_ERRORS = [
    ("y", "'y' is undefined"),
    ("d.missing", "key 'missing' is undefined"),
    ("missing.b is defined", "'missing' is undefined"),
    ("d.missing.b", "key 'missing' is undefined"),
    ("l[9]", "item 9 is undefined"),
    ("m['Account']", "item 'Account' is undefined"),
    ("s.format('x')", "attribute 'format' of str is undefined"),
    ("s.__class__", "attribute '__class__' of str is undefined"),
    ("d.__class__", "key '__class__' is undefined"),
    ("x.real", "attribute 'real' of int is undefined"),
    ("y and 1", "'y' is undefined"),
    ("not y", "'y' is undefined"),
    ("y == 1", "'y' is undefined"),
    ("'a' ~ y", "'y' is undefined"),
    ("[y]", "'y' is undefined"),
    ("gid(y)", "'y' is undefined"),
    ("y | upper", "'y' is undefined"),
    ("'a' if y else 'b'", "'y' is undefined"),
    ("'a' if n else y", "'y' is undefined"),
    ("x / 0", "ZeroDivisionError"),
    ("'a' + 1", "TypeError"),
    ("'x' | int", "ValueError"),
    ("gid('abc')", "is not a Canvas id"),
]


@pytest.mark.parametrize(("source", "message"), RUNTIME_ERRORS, ids=[source for source, _ in RUNTIME_ERRORS])
def test_a_misused_value_fails_naming_the_expression(source: str, message: str) -> None:
    evaluate = compile_expression(source)
    with pytest.raises(ExpressionError) as caught:
        evaluate(dict(VARIABLES))
    assert str(caught.value).startswith(f"expression {source!r} failed: ")
    assert message in str(caught.value)


COMPILE_ERRORS = [
    ("x +", "does not compile"),
    ("x }} {{ y", "is not a single expression"),
    ("range(3)", "range() is not a helper"),
    ("x | escape", "filter 'escape' is not supported"),
    ("x is odd", "test 'odd' is not supported"),
    ("urn(*l)", "*args and **kwargs are not supported"),
    ("l[0](1)", "only helpers and string or dict methods can be called"),
]


@pytest.mark.parametrize(("source", "message"), COMPILE_ERRORS, ids=[source for source, _ in COMPILE_ERRORS])
def test_an_expression_outside_the_language_is_refused_when_compiled(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert message in str(caught.value) and repr(source) in str(caught.value)


@given(st.integers(-(10**6), 10**6), st.integers(-(10**6), 10**6), st.text(max_size=20))
def test_arithmetic_and_comparison_agree_with_python(a: int, b: int, text: str) -> None:
    variables = {"a": a, "b": b, "t": text}
    assert compile_expression("a + b * 2 - (a % 7)")(variables) == a + b * 2 - (a % 7)
    assert compile_expression("a < b or a == b")(variables) == (a < b or a == b)
    assert compile_expression("t ~ a")(variables) == text + str(a)
    assert compile_expression("t[1:] if t else 'empty'")(variables) == (text[1:] if text else "empty")


@pytest.mark.parametrize("source", ["none.x is defined", "true.x is defined", "none.get('x') if false else 1"])
def test_a_literals_attribute_compiles_without_a_warning(source: str) -> None:
    """A lookup on a literal (`none.x`) goes through a temporary: `None['x']` in the generated
    code would be a SyntaxWarning, an error where warnings are errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compile_expression(source)(dict(VARIABLES)) in (False, 1)
