"""Proofs kept between processes: a mapping's proof is worked out once per machine, not once per
event type in every process (10-70 ms each: most of a short run's time, and of each worker's start).

A proof is a function of the mapping's node tree and `vars`, the input schema locations, the
schemas and the prover's code. The key is a SHA-256 over all of them: the tree and `vars` in a
canonical form (the `repr` of plain values, without the file names and lines the proof never
reads), every schema file under the store's root, and the source of the package (so any change
of code proves again). A result is kept in memory for the process and as one small JSON file
per key in the cache directory, `$CANVAS_CALIPER_CACHE`, else
`$XDG_CACHE_HOME/canvas-caliper-translator`, else `~/.cache/canvas-caliper-translator`, in
`proofs/<version>` (one version of the code and schemas is kept at a time); an
empty `CANVAS_CALIPER_CACHE` keeps nothing on disk. A file that cannot be read or written is
ignored and the proof is worked out as before, so the cache changes how fast a plan is made,
never what it says.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..schema_store import SchemaStore
from .nodes import OMIT, Const, Copy, Expr, First, Node, Obj, Seq
from .proof import Location, Proof, Route, prove_forward

_PACKAGE = Path(__file__).resolve().parent.parent
_MEMORY: dict[str, tuple[Proof, dict[str, Route]]] = {}
_VERSION = re.compile(r"[0-9a-f]{16}")  # the name of a version's directory (and nothing else is removed)


def proof_of(template: Obj, variables: dict[str, Any], inputs: dict[str, list[Location]], store: SchemaStore) -> tuple[Proof, dict[str, Route]]:
    """`prove_forward`'s result, from the cache when this very proof was made before."""
    key = _key(template, variables, inputs, store)
    found = _MEMORY.get(key)
    if found is None:
        base = cache_dir()
        directory = base / "proofs" / _sources(store.root)[:16] if base is not None else None
        found = _read(directory / f"{key}.json") if directory is not None else None
        if found is None:
            found = prove_forward(template, variables, inputs, store)
            if directory is not None:
                _write(directory, key, found)
        _MEMORY[key] = found
    return found


def cache_dir() -> Path | None:
    """Where proofs are kept on disk; None when `CANVAS_CALIPER_CACHE` is set empty."""
    configured = os.environ.get("CANVAS_CALIPER_CACHE")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "canvas-caliper-translator"


def _key(template: Obj, variables: dict[str, Any], inputs: dict[str, list[Location]], store: SchemaStore) -> str:
    # `repr` of JSON-like values (what YAML gives) tells 1 from "1" and True, and keeps the order.
    text = repr([_shape(template), variables, inputs])
    return hashlib.sha256((_sources(store.root) + text).encode()).hexdigest()


def _shape(node: Node | None) -> Any:
    """The node tree as plain lists: what the proof reads of it (not where each node was written)."""
    if node is None:
        return None
    if isinstance(node, Const):
        return ["omit"] if node.value is OMIT else ["const", node.value]
    if isinstance(node, Copy):
        default = ["omit"] if node.default is OMIT else ["value", node.default]
        return ["copy", node.path, node.converter.name if node.converter else None, default]
    if isinstance(node, Expr):
        return ["expr", node.text]
    if isinstance(node, Obj):
        return ["obj", [[key, _shape(child)] for key, child in node.items], _shape(node.when)]
    if isinstance(node, Seq):
        return ["seq", [_shape(child) for child in node.items]]
    if isinstance(node, First):
        return ["first", [_shape(child) for child in node.alternatives]]
    raise TypeError(f"unknown node {node!r}")


@cache
def _sources(schemas: Path) -> str:
    """A digest of everything a proof depends on besides the mapping: the schemas, the package's
    code, and the versions of Python, Jinja2 (whose parse the proof reads) and jsonschema-rs (whose
    verdicts it assumes, and whose `\\s` patterns.py asks)."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} {jinja2.__version__} {_rs_version()}".encode())
    for root, pattern in ((schemas, "*.json"), (_PACKAGE, "*.py")):
        for file in sorted(root.rglob(pattern)):
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def _rs_version() -> str:
    try:
        return importlib.metadata.version("jsonschema-rs")
    except importlib.metadata.PackageNotFoundError:
        return "none"


def _read(file: Path) -> tuple[Proof, dict[str, Route]] | None:
    try:
        stored = json.loads(file.read_text(encoding="utf-8"))
        checks = {tuple(pointer): set(locations) for pointer, locations in stored["checks"]}
        proof = Proof(stored["proven"], stored["reason"], checks, stored["static_leaves"], stored["checked_leaves"])
        return proof, {value: (route[0], route[1]) for value, route in stored["routes"].items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError):  # none yet, or unreadable: proved again
        return None


def _write(directory: Path, key: str, found: tuple[Proof, dict[str, Route]]) -> None:
    """Into `directory`, the one of this version of the code and schemas: the first proof kept
    for a version removes the directories of the others, so the cache does not grow with them."""
    proof, routes = found
    stored = {
        "proven": proof.proven, "reason": proof.reason, "static_leaves": proof.static_leaves, "checked_leaves": proof.checked_leaves,
        "checks": [[list(pointer), sorted(locations)] for pointer, locations in proof.checks.items()],
        "routes": {value: list(route) for value, route in routes.items()},
    }  # fmt: skip
    try:
        if not directory.is_dir():
            directory.mkdir(parents=True, exist_ok=True)
            for other in directory.parent.iterdir():
                if other != directory and _VERSION.fullmatch(other.name) and other.is_dir():
                    shutil.rmtree(other, ignore_errors=True)
        handle, name = tempfile.mkstemp(suffix=".tmp", dir=directory)
    except OSError:  # a read-only disk: the proof is simply made again next time
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(stored, out)
        os.replace(name, directory / f"{key}.json")  # whole or not at all, whichever process writes it
    except OSError:
        Path(name).unlink(missing_ok=True)
