"""`translator mappings`: what each Canvas event type becomes, and what it loses."""

from __future__ import annotations

import io
import json
from pathlib import Path

from translator.cli import run

ROOT = Path(__file__).resolve().parents[1]


def mappings(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(["mappings", *argv], io.StringIO(), out, io.StringIO())
    return code, out.getvalue()


def test_lists_every_canvas_event_type_with_its_origin() -> None:
    code, text = mappings()
    assert code == 0
    rows = {line.split()[0]: line.split() for line in text.splitlines()[:-1]}
    assert len(rows) == 115  # the catalogue (schemas/canvas/catalogue.yaml)
    assert rows["grade_change"][1:] == ["GradeEvent", "Graded", "documented"]
    assert rows["module_created"][-1] == "generic"
    assert rows["blueprint_subscription_created"][-1] == rows["quizzes.quiz_session_submitted"][-1] == "generic"
    assert text.splitlines()[-1] == "32 documented, 83 generic"


def test_lossy_lists_fields_the_caliper_form_does_not_carry() -> None:
    code, text = mappings("--lossy", "--json")
    assert code == 0
    rows = {row["event_type"]: row for row in map(json.loads, text.splitlines())}
    assert "body.old_grade" in rows["grade_change"]["lossy"]
    assert "body.grade" not in rows["grade_change"]["lossy"]
    assert rows["module_created"]["lossy"] == []  # the generic form restores everything


def test_user_mappings_show_as_custom() -> None:
    code, text = mappings("--json", "--mappings", str(ROOT / "examples" / "mappings"))
    rows = {row["event_type"]: row for row in map(json.loads, text.splitlines())}
    assert rows["lecture_capture_media_paused"] == {
        "event_type": "lecture_capture_media_paused", "caliper_type": "MediaEvent", "action": "Paused", "origin": "custom",
    }


def test_no_generic_shows_unsupported_types() -> None:
    _, text = mappings("--no-generic")
    assert text.splitlines()[-1] == "32 documented, 83 unsupported"


def test_a_missing_mapping_directory_is_a_usage_error() -> None:
    err = io.StringIO()
    assert run(["mappings", "--mappings", "/nonexistent"], io.StringIO(), io.StringIO(), err) == 2
    assert "not a directory" in err.getvalue()


def test_the_lossy_fields_document_is_current() -> None:
    code, text = mappings("--markdown")
    assert code == 0
    assert (ROOT / "docs" / "lossy-fields.md").read_text(encoding="utf-8") == text, "regenerate: translator mappings --markdown > docs/lossy-fields.md"
