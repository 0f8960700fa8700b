"""Whether every string one JSON Schema `pattern` accepts is accepted by another, or by none.

The proof (proof.py) needs this when a copy's input schema and the output leaf's schema spell
different patterns: Canvas's `context_type` pattern `^[A-Z][A-Za-z]*$` is stricter than the
Caliper extension's `^[A-Z][A-Za-z0-9]*(::[A-Z][A-Za-z0-9]*)*$`, so the copy needs no check at
run time. Regular-language inclusion is decidable: both patterns become automata over the same
partition of the code points, and a search of their product looks for a string the first accepts
and the second does not.

The answers are sound and partial: `implies` (and `disjoint`) says True only when inclusion (an
empty intersection) holds under the validator's reading of the patterns (ECMAScript's, as JSON
Schema has it: `^` and `$` at the ends of the text, `\\s` as jsonschema-rs reads it, probed),
and False whenever it cannot tell: syntax outside the subset the schemas use (lookarounds,
backreferences, `.`, `\\d`, `\\w`, anchors inside a branch) or automata too large to search.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import cache
from typing import Any

MAX_CODE = 0x10FFFF
CharSet = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive ranges of code points
ANY: CharSet = ((0, MAX_CODE),)
# Every character some reading of `\s` holds (ECMAScript's, Unicode's White_Space, Python's);
# which of them the validator's `\s` holds is asked of it (`whitespace`).
_SPACE_CANDIDATES = "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_ECMASCRIPT_SPACE = "\t\n\v\f\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_CONTROL = {"t": "\t", "n": "\n", "r": "\r", "f": "\f", "v": "\v"}
_MAX_STATES = 4_000  # an automaton larger than this is not searched (the answer is then False)
_MAX_PAIRS = 50_000  # product states searched before giving up


class Unsupported(Exception):
    """Syntax outside the subset decided here."""


@cache
def whitespace() -> CharSet:
    """`\\s` as the validator reads it: each candidate asked of jsonschema-rs (ECMAScript's set
    without it; the proof is off without it anyway)."""
    from ..schema_store import _rs

    if _rs is None:
        return _charset(ord(c) for c in _ECMASCRIPT_SPACE)
    space = _rs.validator_for({"type": "string", "pattern": "^\\s$"})
    return _charset(ord(c) for c in _SPACE_CANDIDATES if space.is_valid(c))


@cache
def implies(given: str, wanted: str) -> bool:
    """Every string matching `given` matches `wanted` (False: not shown)."""
    if given == wanted:
        return True
    return _decided(given, wanted, both=False)


@cache
def disjoint(given: str, other: str) -> bool:
    """No string matches both `given` and `other` (False: not shown)."""
    return _decided(given, other, both=True)


def _decided(given: str, other: str, both: bool) -> bool:
    try:
        return _search(_Automaton(_parse(given)), _Automaton(_parse(other)), both)
    except (Unsupported, RecursionError):
        return False


# -- sets of code points ---------------------------------------------------------------------
def _charset(codes: Any) -> CharSet:
    ranges = sorted((c, c) if isinstance(c, int) else c for c in codes)
    merged: list[tuple[int, int]] = []
    for low, high in ranges:
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def _complement(ranges: CharSet) -> CharSet:
    found, start = [], 0
    for low, high in ranges:
        if low > start:
            found.append((start, low - 1))
        start = high + 1
    if start <= MAX_CODE:
        found.append((start, MAX_CODE))
    return tuple(found)


# -- parsing: pattern text to a tree of ("set", CharSet), ("cat", [..]), ("alt", [..]), ("rep", node, min, max) --
Tree = tuple[Any, ...]
EMPTY: Tree = ("cat", [])


def _parse(pattern: str) -> Tree:
    """The pattern's language, each top-level branch anchored by its own `^`/`$` or else open
    (a search matches anywhere: an unanchored end reads any text)."""
    reader = _Reader(pattern)
    branches = [reader.branch(top=True)]
    while reader.take("|"):
        branches.append(reader.branch(top=True))
    if not reader.done():
        raise Unsupported(f"unexpected {reader.peek()!r}")
    return ("alt", branches)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def done(self) -> bool:
        return self.at >= len(self.text)

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.at += 1
            return True
        return False

    def next(self) -> str:
        if self.done():
            raise Unsupported("unexpected end")
        self.at += 1
        return self.text[self.at - 1]

    def branch(self, top: bool = False) -> Tree:
        items: list[Tree] = []
        if top:
            items.append(EMPTY if self.take("^") else ("rep", ("set", ANY), 0, None))
        while not self.done() and self.peek() not in "|)":
            if top and self.take("$"):
                if not self.done() and self.peek() != "|":
                    raise Unsupported("'$' inside a branch")
                return ("cat", items)
            items.append(self.quantified(self.atom()))
        if top:
            items.append(("rep", ("set", ANY), 0, None))
        return ("cat", items)

    def atom(self) -> Tree:
        char = self.next()
        if char == "(":
            if self.take("?"):
                if not self.take(":"):
                    raise Unsupported("lookaround or named group")
            inner = [self.branch()]
            while self.take("|"):
                inner.append(self.branch())
            if not self.take(")"):
                raise Unsupported("unclosed group")
            return ("alt", inner)
        if char == "[":
            return ("set", self.char_class())
        if char == "\\":
            return ("set", self.escape(in_class=False))
        if char in ".^$*+?{}])":
            raise Unsupported(f"{char!r} here")
        return ("set", ((ord(char), ord(char)),))

    def quantified(self, atom: Tree) -> Tree:
        if self.take("*"):
            atom = ("rep", atom, 0, None)
        elif self.take("+"):
            atom = ("rep", atom, 1, None)
        elif self.take("?"):
            atom = ("rep", atom, 0, 1)
        elif self.peek() == "{":
            low, high = self.braces()
            atom = ("rep", atom, low, high)
        else:
            return atom
        self.take("?")  # a lazy quantifier matches the same strings
        if self.peek() and self.peek() in "*+?{":
            raise Unsupported("a quantifier of a quantifier")
        return atom

    def braces(self) -> tuple[int, int | None]:
        end = self.text.find("}", self.at)
        inside = self.text[self.at + 1 : end] if end > 0 else ""
        low, comma, high = inside.partition(",")
        if not low.isdigit() or not (high.isdigit() or not high) or not (comma or not high):
            raise Unsupported(f"quantifier {{{inside}}}")
        self.at = end + 1
        bound = int(high) if high else (None if comma else int(low))
        if bound is not None and bound < int(low):
            raise Unsupported("empty quantifier")
        return int(low), bound

    def char_class(self) -> CharSet:
        negated = self.take("^")
        if self.peek() == "]":
            raise Unsupported("empty class")
        parts: list[tuple[int, int]] = []
        while not self.take("]"):
            char = self.next()
            if char == "\\":
                found = self.escape(in_class=True)
            elif char == "[":
                raise Unsupported("'[' in a class")
            else:
                found = ((ord(char), ord(char)),)
            if self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.at += 1
                end = self.next()
                high = self.escape(in_class=True) if end == "\\" else ((ord(end), ord(end)),)
                if len(found) != 1 or len(high) != 1 or found[0][0] != found[0][1] or high[0][0] != high[0][1] or high[0][0] < found[0][0]:
                    raise Unsupported("range between classes")
                found = ((found[0][0], high[0][0]),)
            parts.extend(found)
        ranges = _charset(parts)
        return _complement(ranges) if negated else ranges

    def escape(self, in_class: bool) -> CharSet:
        char = self.next()
        if char in "sS":
            space = whitespace()
            return space if char == "s" else _complement(space)
        if char in _CONTROL:
            code = ord(_CONTROL[char])
        elif char == "u" and len(digits := self.text[self.at : self.at + 4]) == 4 and all(d in "0123456789abcdefABCDEF" for d in digits):
            self.at += 4
            code = int(digits, 16)
        elif not char.isalnum() and char.isascii():
            code = ord(char)  # an escaped punctuation character stands for itself
        else:
            raise Unsupported(f"escape \\{char}")
        return ((code, code),)


# -- automata --------------------------------------------------------------------------------
class _Automaton:
    """Thompson's construction: states with ε-moves and moves on character sets."""

    def __init__(self, tree: Tree) -> None:
        self.moves: list[list[tuple[CharSet, int]]] = []
        self.empty: list[list[int]] = []
        self.start, self.accept = self._build(tree)

    def _state(self) -> int:
        if len(self.moves) >= _MAX_STATES:
            raise Unsupported("automaton too large")
        self.moves.append([])
        self.empty.append([])
        return len(self.moves) - 1

    def _build(self, tree: Tree) -> tuple[int, int]:
        kind = tree[0]
        start = self._state()
        if kind == "set":
            end = self._state()
            self.moves[start].append((tree[1], end))
            return start, end
        if kind == "cat":
            end = start
            for item in tree[1]:
                first, last = self._build(item)
                self.empty[end].append(first)
                end = last
            return start, end
        if kind == "alt":
            end = self._state()
            for item in tree[1]:
                first, last = self._build(item)
                self.empty[start].append(first)
                self.empty[last].append(end)
            return start, end
        _, item, low, high = tree
        end = start
        for _ in range(low):
            first, last = self._build(item)
            self.empty[end].append(first)
            end = last
        finish = self._state()
        if high is None:  # any number more: a loop through the item
            first, last = self._build(item)
            self.empty[end] += [first, finish]
            self.empty[last] += [first, finish]
            return start, finish
        self.empty[end].append(finish)
        for _ in range(high - low):
            first, last = self._build(item)
            self.empty[end].append(first)
            self.empty[last].append(finish)
            end = last
        return start, finish

    def closure(self, states: frozenset[int] | set[int]) -> frozenset[int]:
        seen, stack = set(states), list(states)
        while stack:
            for target in self.empty[stack.pop()]:
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        return frozenset(seen)

    def step(self, states: frozenset[int], code: int) -> frozenset[int]:
        found = {target for state in states for ranges, target in self.moves[state] if _holds(ranges, code)}
        return self.closure(found) if found else frozenset()

    def boundaries(self) -> set[int]:
        return {edge for moves in self.moves for ranges, _ in moves for low, high in ranges for edge in (low, high + 1)}


def _holds(ranges: CharSet, code: int) -> bool:
    index = bisect_right(ranges, (code, MAX_CODE + 1)) - 1
    return index >= 0 and ranges[index][0] <= code <= ranges[index][1]


def _search(given: _Automaton, other: _Automaton, both: bool) -> bool:
    """Whether no string is accepted by `given` and (`both`) also, or else not, by `other`: a
    search of their subset product, one representative character per class of the common
    partition of the code points."""
    representatives = sorted({0} | {edge for edge in given.boundaries() | other.boundaries() if edge <= MAX_CODE})
    first = (given.closure({given.start}), other.closure({other.start}))
    seen, stack = {first}, [first]
    while stack:
        mine, theirs = stack.pop()
        if given.accept in mine and (other.accept in theirs) is both:
            return False
        for code in representatives:
            ahead = given.step(mine, code)
            pair = (ahead, other.step(theirs, code))
            if not ahead or (both and not pair[1]) or pair in seen:
                continue
            if len(seen) >= _MAX_PAIRS:
                raise Unsupported("search too large")
            seen.add(pair)
            stack.append(pair)
    return True
