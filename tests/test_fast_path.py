"""The fast verdict (jsonschema-rs) and the detailed report (jsonschema) agree, schema by schema,
on the whole corpus, every negative suite, and our own outputs. Only then may a batch trust it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import translator
from corpus import CALIPER_SPEC, caliper_examples, canvas_examples
from negatives import CANVAS_NEGATIVE, NEGATIVE_CANVAS, NEGATIVE_IMS, broken_canvas_event, caliper_base, canvas_example, mutate
from translator.formats.caliper import validate_caliper
from translator.formats.canvas import validate_canvas
from translator.mapping.yaml_lines import load_yaml
from translator.resources import data_dir
from translator.schema_store import Compiled, problems_of, schema_id, schema_store


class Disagreement(AssertionError):
    pass


@pytest.fixture
def both_verdicts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every schema check also asks the fast validator and fails on a different verdict."""
    checked = [0]

    def problems(self: Compiled, instance: Any, prefix: str = "", *, quick: bool = False) -> list:
        found = problems_of(self.detailed, instance, prefix)
        detailed_ok = not any(p.severity == "error" for p in found)
        if self.fast.is_valid(instance) != detailed_ok:
            raise Disagreement(f"fast says {not detailed_ok}, detailed says {detailed_ok}: {[str(p) for p in found][:3]}")
        checked[0] += 1
        return found

    monkeypatch.setattr(Compiled, "problems", problems)
    return checked


def canvas_payloads() -> Iterator[Any]:
    for example in canvas_examples():
        yield example.payload
    for _name, base, pointer, value, _path, _rule in CANVAS_NEGATIVE:
        yield broken_canvas_event(base, pointer, value)


def caliper_payloads() -> Iterator[tuple[Any, str | None]]:
    for path in sorted(CALIPER_SPEC.glob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8")), "ims"
    for example in caliper_examples():
        yield example.payload, "canvas"
        yield example.payload, "ims"
    for table, profile in ((NEGATIVE_IMS, "ims"), (NEGATIVE_CANVAS, "canvas")):
        for _id, base, ops, _path, _rule in table:
            yield mutate(caliper_base(base), *ops), profile
    translator_ = translator.Translator()
    for example in canvas_examples():
        yield translator_.translate(example.payload, validate=False, send_time="2020-01-01T00:00:00.000Z"), None


def test_fast_and_detailed_verdicts_agree_on_canvas_events(both_verdicts: list[int]) -> None:
    for payload in canvas_payloads():
        validate_canvas(payload)
    assert both_verdicts[0] >= 170


def test_fast_and_detailed_verdicts_agree_on_caliper(both_verdicts: list[int]) -> None:
    for payload, profile in caliper_payloads():
        validate_caliper(payload, profile)
    assert both_verdicts[0] >= 450


def test_the_accept_path_is_silent_on_conforming_events_and_detailed_otherwise() -> None:
    payload = canvas_example("enrollment_created[0]")  # conforms with a warning
    assert [p.rule for p in translator.validate(payload)] == ["event-time-precision"]
    from translator.validation import accept_problems

    assert accept_problems(payload, "canvas") == []
    payload["body"]["enrollment_id"] = 5
    assert [(p.path, p.rule) for p in accept_problems(payload, "canvas") if p.severity == "error"] == [("/body/enrollment_id", "type")]


def test_the_accept_path_verdict_equals_the_full_verdict_on_every_payload() -> None:
    from translator.validation import accept_problems, conforms

    checked = 0
    for payload, profile in caliper_payloads():
        if profile is not None or not isinstance(payload, dict):
            continue
        assert conforms(accept_problems(payload, "caliper")) == conforms(translator.validate(payload, format="caliper"))
        checked += 1
    for payload in canvas_payloads():
        assert conforms(accept_problems(payload, "canvas")) == conforms(translator.validate(payload, format="canvas"))
        checked += 1
    assert checked >= 290


def mapping_documents() -> Iterator[Any]:
    """Every shipped mapping file as loaded (line-tracking dicts), and broken variants of each."""
    for file in sorted(data_dir("mappings").rglob("*.yaml")):
        document = load_yaml(file)
        yield document
        if "event" in document:
            yield {**document, "event": {**document["event"], "$bogus": 1}}
            yield {**document, "event": {**document["event"], "id": "$nowhere.x"}}
            yield {key: value for key, value in document.items() if key != "canvas_event"}
            yield {**document, "canvas_event": "Not A Name"}
        else:
            yield {**document, "parts": ["not", "an", "object"]}


def test_fast_and_detailed_verdicts_agree_on_mapping_files() -> None:
    """Loading a mapping trusts the fast verdict when it accepts (mapping/catalog.py `_check`)."""
    compiled = schema_store().compiled(schema_id("mapping.json"))
    verdicts = [(compiled.fast.is_valid(d), not list(compiled.detailed.iter_errors(d))) for d in mapping_documents()]
    assert all(fast == detailed for fast, detailed in verdicts)
    assert sum(ok for ok, _ in verdicts) >= 30 and sum(not ok for ok, _ in verdicts) >= 100
