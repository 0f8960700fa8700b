"""What several test files share, so that no test file imports another's names: the corpus's
known exceptions (documentation examples that break Canvas's rules, contradictory documented
pairs), the property tests' event variants, the reader's attack lines, and the CLI and file helpers.
"""

from __future__ import annotations

import copy
import io
import json
import math
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from corpus import canvas_examples, leaves
from equivalence import same_value, shard_of_event
from translator.cli import run
from translator.formats.canvas import required_fields
from translator.mapping.dispatch import UNKNOWN, _read
from translator.mapping.loading import PRESENT
from translator.mapping.nodes import OMIT, Pointer
from translator.validation import conforms, validate

# -- the corpus's known exceptions ------------------------------------------------------------

# Documentation examples that break Canvas's own rules: label -> (path, rule, why).
BROKEN_EXAMPLES = {
    "course_updated[0]": ("/metadata/event_time", "pattern", "event_time written as '2019-11-05 07:38:00 -0800' (space, offset, no millis)"),
    "user_updated[0]": ("/body/updated_at", "pattern", "updated_at has a three-digit year, 019-11-01"),
    "grade_override[0]": ("/body", "required", "event_name says grade_change, so the grade_override body fails grade_change's schema"),
}
D = "/data/0"
# A request's traces: who acted, in which session, from where.
REQUEST = (f"{D}/actor", f"{D}/session", f"{D}/referrer", f"{D}/extensions/com.instructure.canvas", f"{D}/membership", f"{D}/eventTime")
SYSTEM_VS_USER = "the Canvas example is system-generated (job_id/job_tag, no user, session or request) while the Caliper example shows a user's request"

EXCEPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "assignment_override_created[0]": (
        "the examples describe different overrides (id 1 vs 371, CourseSection vs ADHOC, other dates) in different courses (1279362 vs 565) at other times",
        (f"{D}/object", f"{D}/eventTime", f"{D}/group", f"{D}/membership", f"{D}/extensions/com.instructure.canvas/request_url"),
    ),
    "assignment_override_updated[0]": (
        "the examples describe different overrides (id 1 vs 371, CourseSection vs ADHOC, other dates)",
        (f"{D}/object",),
    ),
    "course_updated[0]": (
        SYSTEM_VS_USER + "; the course is on another shard (12340000000056 vs 21070000000000056) and the event times differ",
        (*REQUEST, f"{D}/object"),
    ),
    "discussion_entry_created[0]": (
        "the body carries local ids; Canvas writes them unsharded in the URN (discussionEntry:2134567) while its own schema calls entity_id a global id; we lift local ids onto the event's shard",
        (f"{D}/object/id", f"{D}/object/extensions", f"{D}/object/isPartOf"),
    ),
    "discussion_topic_created[0]": (
        SYSTEM_VS_USER + "; topic, course and title differ; without a user the event cannot be a ThreadEvent (its actor must be a Person)",
        (*REQUEST, f"{D}/type", f"{D}/group", f"{D}/object"),
    ),
    "enrollment_state_updated[0]": (SYSTEM_VS_USER + "; a different enrollment in another state", (*REQUEST, f"{D}/group", f"{D}/object")),
    "enrollment_updated[0]": (SYSTEM_VS_USER + "; a different enrollment (46825 vs 549222)", (*REQUEST, f"{D}/group", f"{D}/object")),
    "group_category_created[0]": (
        "the body's context_id is the local id 565 (the metadata says 21070000000000565); Canvas writes course:565, we lift it onto the shard",
        (f"{D}/group", f"{D}/membership"),
    ),
    "submission_updated[0]": (
        "the examples describe different submissions (11176 vs 2947931) by different users in different requests",
        (*REQUEST, f"{D}/object"),
    ),
    "user_account_association_created[0]": (SYSTEM_VS_USER + "; a different account (79 vs 1)", (*REQUEST, f"{D}/object")),
    "wiki_page_created[0]": (SYSTEM_VS_USER + "; a different page on another shard", (*REQUEST, f"{D}/group", f"{D}/object")),
    "wiki_page_updated[0]": (SYSTEM_VS_USER + "; a different page on another shard", (*REQUEST, f"{D}/group", f"{D}/object")),
}

# The actor is restored into metadata.user_id; Canvas's examples for these leave the requesting
# user out although their Caliper examples show one (the submitter, the file's owner).
ACTOR_ONLY_IN_CALIPER = {"submission_created[0]", "attachment_created[0]"}
# Contradictory pairs, less those that differ only in id style (same id, local vs global).
REVERSE_EXCEPTIONS = set(EXCEPTIONS) - {"discussion_entry_created[0]", "group_category_created[0]"}


def mismatches(restored: dict[str, Any], original: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Leaves of `restored` that the original lacks or holds with another value."""
    shard = shard_of_event(original)
    theirs = leaves(original)
    return {
        pointer: (value, theirs.get(pointer))
        for pointer, value in leaves(restored).items()
        if pointer not in theirs or not same_value(value, theirs[pointer], shard)
    }


# -- property tests ----------------------------------------------------------------------

_DOCUMENTED = [e for e in canvas_examples() if e.label not in BROKEN_EXAMPLES]
_GLOBAL_ID = re.compile(r"\b([0-9]{14,20})\b")


def _rewrite(value: Any, change: Any) -> Any:
    if isinstance(value, dict):
        return {key: _rewrite(item, change) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, change) for item in value]
    return change(value) if isinstance(value, str) else value


@st.composite
def variants(draw: st.DrawFn) -> dict[str, Any]:
    """A documented Canvas event with other ids, shard, host and time, and optional fields dropped."""
    example = draw(st.sampled_from(_DOCUMENTED))
    payload = json.loads(json.dumps(example.payload))
    shard = draw(st.integers(min_value=1, max_value=99_999))
    offset = draw(st.integers(min_value=1, max_value=10**9))
    old_host = payload["metadata"].get("hostname") or "oxana.instructure.com"
    host = draw(st.from_regex(r"\A[a-z][a-z0-9]{2,12}\.(edu|ac\.uk|instructure\.com)\Z"))

    def change(text: str) -> str:
        text = _GLOBAL_ID.sub(lambda m: str(shard * 10**13 + (int(m.group(1)) + offset) % 10**13), text)
        return text.replace(old_host, host)

    payload = _rewrite(payload, change)
    when = draw(st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2035, 1, 1)))
    payload["metadata"]["event_time"] = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    required = {name for part, name in required_fields(payload["metadata"]["event_name"]) if part == "body"}
    optional = sorted(set(payload["body"]) - required)
    for key in draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []:
        del payload["body"][key]
    for key in draw(st.lists(st.sampled_from(["referrer", "session_id", "user_agent", "context_role", "user_sis_id", "time_zone"]), unique=True)):
        payload["metadata"].pop(key, None)
    return payload


# -- the reader's attacks ------------------------------------------------------------

VALID = next(copy.deepcopy(e.payload) for e in canvas_examples() if e.event_type == "logged_in" and conforms(validate(e.payload)))
LINE = json.dumps(VALID)
PRETTY = json.dumps(VALID, indent=2)
BROKEN = PRETTY.replace('"event_name": "logged_in"', '"event_name": ')  # a syntax error inside one element
JWS = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjIwMjQtMDYifQ.eyJtZXRhZGF0YSI6e319.c2lnbmF0dXJl"

# Each attack on the reader: its line, and what the reader must say about it.
BAD_LINES: list[tuple[str, bytes, str, str]] = [
    ("integer over 4,300 digits", b'{"metadata": {"user_id": ' + b"9" * 5000 + b"}, \"body\": {}}", "malformed-json", "5000 digits"),
    ("a bare integer over 4,300 digits", b"1" * 4301, "malformed-json", "4301 digits"),
    ("a cut-off line of digits", b'{"metadata": {"user_id": 12345678901234567890123', "malformed-json", "truncated"),
    ("NaN", b'{"metadata": {"user_id": NaN}, "body": {}}', "malformed-json", "NaN is not a JSON number"),
    ("Infinity", b'{"body": {"score": Infinity}, "metadata": {}}', "malformed-json", "Infinity is not a JSON number"),
    ("-Infinity", b'[-Infinity]', "malformed-json", "-Infinity is not a JSON number"),
    ("beyond a double", b'{"body": {"score": 1e999}, "metadata": {}}', "malformed-json", "beyond a double"),
    ("NaN beside a big integer", b'{"a": ' + b"7" * 30 + b', "b": NaN}', "malformed-json", "NaN"),
    ("invalid UTF-8", b'{"metadata": {"user_id": "\xff\xfe"}, "body": {}}', "undecodable", "not UTF-8"),
]


# -- the command line ------------------------------------------------------------


def conforming(event_type: str, index: int = 0) -> dict[str, Any]:
    """A copy of the `index`-th documented example of `event_type` that conforms (cycling)."""
    found = [e.payload for e in canvas_examples() if e.event_type == event_type and conforms(validate(e.payload))]
    if not found:
        raise LookupError(event_type)
    return copy.deepcopy(found[index % len(found)])


def cli(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    """`translator ARGV` in this process: (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = run(list(argv), io.StringIO(stdin), stdout, stderr)
    return code, stdout.getvalue(), stderr.getvalue()


def jsonl(path: Path, *records: Any) -> Path:
    """`path` written as JSON Lines of `records` (a string is written as it is)."""
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")
    return path


def satisfies(event: dict[str, Any], constraints: dict[Pointer, Any]) -> Any:
    """The reverse dispatch's verdict read plainly, pointer by pointer: the reference the generated
    `satisfier_code` is held to. True, False, or UNKNOWN when nothing contradicts and some
    constraint sits in an entity given as an IRI."""
    verdict: Any = True
    for pointer, expected in constraints.items():
        if pointer[-1] == "#kind":
            value = _read(event, pointer[:-1])
            prefix = f"urn:instructure:canvas:{expected}:"
            if not (isinstance(value, str) and value.startswith(prefix)):
                return False
            continue
        value = _read(event, pointer)
        if value is UNKNOWN:
            verdict = UNKNOWN
        elif value is OMIT or (expected is not PRESENT and value != expected):
            return False
    return verdict


# -- Caliper forms of the corpus, and their mutations ---------------------------------------------

SEND_TIME = "2024-05-01T10:00:00.000Z"


@cache
def caliper_forms() -> list[Any]:
    """Our Caliper form of every corpus event that converts, with a fixed sendTime."""
    import translator

    found = []
    for example in canvas_examples():
        try:
            found.append(translator.translate(example.payload, "caliper", send_time=SEND_TIME))
        except translator.TranslatorError:
            continue
    return found


# Values a Caliper field may well take that the fast verdicts must not let through: other
# types, URNs of other kinds or broken, IRIs given for entities, numbers JSON cannot write.
AWKWARD = [
    "", "a b", "x:y/z", "urn:instructure:canvas:user:", "urn:instructure:canvas:course:12", "http://a b", "_:b1",
    "2020-01-01T00:00:00Z", "123456789012345678901", -5, 1.5, 10**25, True, None, [], {}, math.nan, math.inf,
]  # fmt: skip
REMOVED = object()


def set_at(payload: Any, pointer: str, value: Any) -> Any:
    """A copy of `payload` with the value at JSON Pointer `pointer` set to `value` (REMOVED: removed)."""
    changed = copy.deepcopy(payload)
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    target: Any = changed
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    key: Any = int(parts[-1]) if isinstance(target, list) else parts[-1]
    if value is REMOVED:
        del target[key]
    else:
        target[key] = value
    return changed


# Times in the shape Canvas writes them, every digit drawn (month 13, 30 February, hour 24, second
# 60, year 0999 among them): Caliper's DateTime with milliseconds (".000" often), and Canvas's body
# form without them. What the fast shape checks must give exactly as the general parse does.
SHAPED_TIMES = st.builds(
    lambda digits, fraction: "{}{}{}{}-{}{}-{}{}T{}{}:{}{}:{}{}".format(*digits) + (fraction.format(*digits[14:]) if fraction else "Z"),
    st.lists(st.sampled_from("0123456789"), min_size=17, max_size=17),
    st.sampled_from([".{}{}{}Z", ".000Z", ""]),
)


def outcome(call: Any, *args: Any, errors: type[Exception] | tuple[type[Exception], ...] = ValueError) -> tuple[str, Any]:
    """("value", what `call(*args)` gives) or ("error", the message of what it raises of `errors`)."""
    try:
        return ("value", call(*args))
    except errors as exc:
        return ("error", str(exc))
