"""User mapping directories: another tool's Caliper events, kept in Canvas format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import translator

ROOT = Path(__file__).resolve().parents[1]
ENVELOPE = json.loads((ROOT / "examples" / "events" / "lecture-capture-caliper.json").read_text())


def test_without_a_mapping_another_tools_event_is_unsupported() -> None:
    with pytest.raises(translator.UnsupportedEventError, match="MediaEvent/Paused"):
        translator.translate(ENVELOPE, to="canvas")


def test_the_shipped_example_directory_maps_it() -> None:
    custom = translator.Translator(mapping_dirs=[ROOT / "examples" / "mappings"])
    canvas = custom.translate(ENVELOPE, to="canvas")
    assert canvas == {
        "metadata": {"event_time": "2026-03-05T10:20:00.870Z", "event_name": "lecture_capture_media_paused"},
        "body": {
            "viewer_id": "https://lecturecapture.example.edu/users/ada",
            "media_id": "https://lecturecapture.example.edu/videos/bio101-week1",
            "media_title": "BIO 101, week 1",
            "media_duration": "PT48M10S",
            "position": "PT12M3S",
            "tool_url": "https://lecturecapture.example.edu/",
        },
    }
    assert custom.mapping_for("lecture_capture_media_paused").origin == "custom"
    # Canvas's own events still go through the shipped mappings.
    assert custom.mapping_for("grade_change").origin == "documented"


def test_a_custom_event_name_is_known_only_to_the_translator_that_maps_it() -> None:
    custom = translator.Translator(mapping_dirs=[ROOT / "examples" / "mappings"])
    canvas = custom.translate(ENVELOPE, to="canvas")
    assert [(p.rule, p.severity) for p in translator.validate(canvas) if p.rule == "unknown-event"] == [("unknown-event", "warning")]
    assert [p.rule for p in translator.validate(canvas, strict=True) if p.severity == "error"] == ["unknown-event"]
