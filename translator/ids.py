"""Canvas id arithmetic, Canvas URNs, enrollment roles and Caliper times.

`global = shard * 10**13 + local` is how Canvas shards ids; newer events carry local ids in the body
while metadata keeps global ones, so the shard of an event is read off its metadata.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

SHARD_FACTOR = 10_000_000_000_000
URN_PREFIX = "urn:instructure:canvas:"


def is_canvas_id(value: object) -> bool:
    """An integer, or 1 to 20 ASCII digits (what the schemas' `^[0-9]{1,20}$` accepts)."""
    if isinstance(value, str):
        return 0 < len(value) <= 20 and value.isascii() and value.isdigit()
    return isinstance(value, int) and not isinstance(value, bool)


def _as_int(value: str | int) -> int:
    if not is_canvas_id(value):
        raise ValueError(f"{value!r} is not a Canvas id (a string of digits)")
    return int(value)


def split_global_id(value: str | int) -> tuple[int, int]:
    """(shard, local id) of a Canvas id; a local id has shard 0."""
    return divmod(_as_int(value), SHARD_FACTOR)


def global_id(value: str | int, shard: int | None) -> str:
    """The global form of `value`: a local id is lifted onto `shard`; a global id is kept."""
    if value.__class__ is str and is_written_global(value):
        return value  # the common case, as written
    return _lifted(_as_int(value), shard)


def is_written_global(text: str) -> bool:
    """A string of 14 to 20 ASCII digits without a leading zero: a global id, whose global form
    is the text itself (what `global_id` and `urn` would compute, without computing it)."""
    return 13 < len(text) <= 20 and text[0] != "0" and text.isdigit() and text.isascii()


def _lifted(number: int, shard: int | None) -> str:
    return str(number + shard * SHARD_FACTOR if number < SHARD_FACTOR and shard else number)


def local_id(value: str | int) -> str:
    return str(_as_int(value) % SHARD_FACTOR)


def shard_of(*candidates: object) -> int | None:
    """The first non-zero shard among global ids in `candidates` (metadata ids); None if none is global."""
    for candidate in candidates:
        # is_canvas_id, inline: an event's shard is read on every conversion
        if isinstance(candidate, str):
            if 13 < len(candidate) <= 20 and candidate.isdigit() and candidate.isascii() and (shard := int(candidate) // SHARD_FACTOR):
                return shard
        elif isinstance(candidate, int) and not isinstance(candidate, bool) and (shard := candidate // SHARD_FACTOR):
            return shard
    return None


def urn(kind: str, value: str | int, shard: int | None = None) -> str:
    """`urn:instructure:canvas:<kind>:<global id>`; a non-numeric key (a session id) is kept as is."""
    if value.__class__ is str and 0 < len(value) <= 20 and value.isdigit() and value.isascii():  # the common case, inline
        if len(value) > 13 and value[0] != "0":  # global already (is_written_global)
            return f"{URN_PREFIX}{kind}:{value}"
        number = int(value)
        return f"{URN_PREFIX}{kind}:{number + shard * SHARD_FACTOR if shard and number < SHARD_FACTOR else number}"
    return f"{URN_PREFIX}{kind}:{_lifted(int(value), shard) if is_canvas_id(value) else value}"


def parse_urn(text: str, kind: str | None = None) -> tuple[str, str]:
    """(kind, id) of a Canvas URN whose last segment is the id; `kind` checks the expected kind."""
    if not isinstance(text, str) or not text.startswith(URN_PREFIX):
        raise ValueError(f"{text!r} is not a Canvas URN ({URN_PREFIX}<kind>:<id>)")
    found_kind, _, ident = text[len(URN_PREFIX) :].rpartition(":")
    if kind is not None and found_kind != kind:
        raise ValueError(f"{text!r} is a {found_kind or 'malformed'} URN, expected {kind}")
    return found_kind, ident


# Canvas enrollment types and base roles -> Caliper 1.1 membership roles (Appendix E).
ENROLLMENT_ROLES = {
    "StudentEnrollment": "Learner",
    "StudentViewEnrollment": "Learner",
    "TeacherEnrollment": "Instructor",
    "TaEnrollment": "Instructor#TeachingAssistant",
    "DesignerEnrollment": "ContentDeveloper",
    "ObserverEnrollment": "Mentor",
    "AccountAdmin": "Administrator",
}
# The inverse keeps the first (primary) enrollment type for each role.
CALIPER_ROLES = {role: enrollment for enrollment, role in reversed(ENROLLMENT_ROLES.items())}


def caliper_role(enrollment_type: str) -> str:
    try:
        return ENROLLMENT_ROLES[enrollment_type]
    except KeyError:
        raise ValueError(f"no Caliper role for Canvas role {enrollment_type!r}") from None


def canvas_role(role: str) -> str:
    try:
        return CALIPER_ROLES[role]
    except KeyError:
        raise ValueError(f"no Canvas enrollment type for Caliper role {role!r}") from None


_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ?(Z|[+-]\d{2}:?\d{2})$"
)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: str) -> datetime:
    """Any timestamp form Canvas writes (Z, offset, Ruby's 'YYYY-MM-DD HH:MM:SS -0800'), and a
    plain date (a Ruby Date column such as an override's all_day_date), read as midnight UTC."""
    if isinstance(text, str) and _DATE.match(text):
        text += "T00:00:00Z"
    match = _TIME.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f"{text!r} is not a timestamp")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    stamp = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=timezone.utc)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        stamp -= sign * (datetime(1, 1, 1, int(digits[:2]), int(digits[2:])) - datetime(1, 1, 1))
    return stamp


_CALIPER_TIME = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$")


def caliper_time(text: str) -> str:
    """`YYYY-MM-DDTHH:mm:ss.SSSZ` in UTC, as Caliper 1.1 requires."""
    if isinstance(text, str) and _CALIPER_TIME.match(text):
        datetime.fromisoformat(text[:-1])  # a real date (no 31 February), or ValueError
        return text  # already so, as every current Canvas event_time is
    stamp = parse_time(text)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# The shapes of a Caliper DateTime and of a time Canvas writes without milliseconds, their digits
# unchecked: `datetime.fromisoformat` then checks them (month, day of the month, hour, minute,
# second below 60) and refuses a wrong one with the message `parse_time`'s `datetime` gives.
CALIPER_TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z").fullmatch
SECONDS_TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z").fullmatch


def canvas_time_seconds(text: str) -> str:
    """A time as Canvas writes body times without milliseconds, `YYYY-MM-DDTHH:mm:ssZ` (UTC);
    a time with milliseconds other than .000 keeps them (precision is never dropped)."""
    if text.__class__ is str and text[:1] != "0" and CALIPER_TIME_SHAPE(text) is not None:  # the commonest, told at once
        try:
            datetime.fromisoformat(text[:-1])
        except ValueError:
            pass  # not a real time: the general parse below says why
        else:  # (a year before 1000 takes the general path, as `strftime` writes it in 3 digits)
            return text[:19] + "Z" if text.endswith(".000Z") else text
    stamp = parse_time(text)
    if stamp.microsecond:
        return caliper_time(text)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
