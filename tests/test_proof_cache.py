"""Proofs kept between processes (mapping/proof_cache.py): a kept proof is the proof itself, a
changed mapping is proved again, and a cache that cannot be read or written changes nothing."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

import translator
from translator.formats.canvas import input_schemas
from translator.mapping import proof_cache
from translator.mapping.nodes import Const, Obj
from translator.mapping.proof import prove_forward
from translator.schema_store import schema_store

MAPPINGS = translator.Translator()
NAMES = ["asset_accessed", "logged_in", "grade_change", "course_created"]  # documented, unprovable (below), generic


def inputs(name: str) -> dict[str, list[str]]:
    """The plan's inputs; logged_in's without the metadata rule that requires its user, so that
    its proof does not hold (a kept failure must read back as one)."""
    found = input_schemas(name)
    return {**found, "metadata": found["metadata"][:1]} if name == "logged_in" else found


def kept(name: str, template: Obj | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    mapping = MAPPINGS.mapping_for(name)
    assert mapping is not None
    proof, routes = proof_cache.proof_of(template or mapping.template, mapping.vars, inputs(name), schema_store())
    return asdict(proof), routes


def proved(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    mapping = MAPPINGS.mapping_for(name)
    assert mapping is not None
    proof, routes = prove_forward(mapping.template, mapping.vars, inputs(name), schema_store())
    return asdict(proof), routes


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CANVAS_CALIPER_CACHE", str(tmp_path))
    monkeypatch.setattr(proof_cache, "_MEMORY", {})
    return tmp_path


def test_a_kept_proof_is_the_proof_in_memory_and_read_back_from_disk(cache: Path) -> None:
    for name in NAMES:
        assert kept(name) == proved(name)
    assert len(list(cache.glob("proofs/*/*.json"))) == len(NAMES)
    proof_cache._MEMORY.clear()  # a new process: read from the files
    for name in NAMES:
        assert kept(name) == proved(name)
    assert {kept(name)[0]["proven"] for name in NAMES} == {True, False}


def test_a_changed_mapping_is_proved_again_and_where_it_was_written_does_not_matter(cache: Path) -> None:
    mapping = MAPPINGS.mapping_for("asset_accessed")
    assert mapping is not None
    kept("asset_accessed")
    moved = Obj(tuple((key, replace(node, origin="elsewhere.yaml:1") if isinstance(node, Const) else node) for key, node in mapping.template.items), None, "x")
    kept("asset_accessed", moved)
    assert len(list(cache.glob("proofs/*/*.json"))) == 1  # the same proof: only the file names and lines differ
    changed = Obj(tuple((key, Const("Event", "x") if key == "type" else node) for key, node in mapping.template.items), None, "x")
    proof, routes = kept("asset_accessed", changed)
    assert len(list(cache.glob("proofs/*/*.json"))) == 2 and "Event" in routes


def test_one_version_of_the_code_and_schemas_is_kept(cache: Path) -> None:
    stale, other = cache / "proofs" / "0123456789abcdef", cache / "proofs" / "not-a-version"
    stale.mkdir(parents=True)
    other.mkdir()
    (stale / "old.json").write_text("{}")
    kept("logged_in")
    assert other.is_dir()  # only what looks like a version's directory is removed
    other.rmdir()
    (version,) = (p for p in (cache / "proofs").iterdir())
    assert version.name == proof_cache._sources(schema_store().root)[:16] and len(list(version.glob("*.json"))) == 1


def test_an_unreadable_or_unwritable_cache_changes_nothing(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept("grade_change")
    (file,) = cache.glob("proofs/*/*.json")
    file.write_text("{not json")
    proof_cache._MEMORY.clear()
    assert kept("grade_change") == proved("grade_change")
    assert file.read_text().startswith("{")  # written again, whole
    blocked = cache / "blocked"
    blocked.write_text("a file where the directory would be")
    monkeypatch.setenv("CANVAS_CALIPER_CACHE", str(blocked))
    proof_cache._MEMORY.clear()
    assert kept("logged_in") == proved("logged_in")
    monkeypatch.setenv("CANVAS_CALIPER_CACHE", "")
    assert proof_cache.cache_dir() is None
    proof_cache._MEMORY.clear()
    assert kept("asset_accessed") == proved("asset_accessed")
