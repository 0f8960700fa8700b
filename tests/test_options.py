"""`ConvertOptions`: every conversion option declared once, the same in the library, the CLI and
the live commands; and the summary's list of what a conversion to Caliper does not carry."""

from __future__ import annotations

import copy
import inspect
import io
import json
import pickle
import pydoc
from dataclasses import fields
from pathlib import Path
from typing import get_type_hints

import pytest

from corpus import canvas_examples
from translator.batch import Converter, convert_blocks, convert_stream
from translator.cli import build_parser, run
from translator.errors import TranslatorError
from translator.mapping.report import lossy_fields
from translator.options import ConvertOptions
from translator.validation import conforms, validate


def test_options_are_picklable_and_normalised() -> None:
    options = ConvertOptions(to="canvas", ids="local", mapping_dirs=[Path("a")], issuers=["x"], jwks=Path("k.json"))  # type: ignore[arg-type]
    assert (options.mapping_dirs, options.issuers, options.jwks) == (("a",), ("x",), "k.json")
    assert pickle.loads(pickle.dumps(options)) == options


@pytest.mark.parametrize(("name", "value"), [("to", "xapi"), ("ids", "sis")])
def test_a_bad_option_fails_when_the_options_are_built(name: str, value: str) -> None:
    with pytest.raises(TranslatorError, match=repr(value)):
        ConvertOptions(**{name: value})  # type: ignore[arg-type]


def _public_functions() -> list[object]:
    spark = pytest.importorskip("translator.spark")
    return [convert_stream, convert_blocks, spark.convert_rdd, spark.convert_results, spark.convert_dataframe]


@pytest.mark.parametrize("name", ["convert_stream", "convert_blocks", "convert_rdd", "convert_results", "convert_dataframe"])
def test_the_public_functions_take_every_option_typed_with_its_default(name: str) -> None:
    """Declared once (`with_options`), shown by help() with its type and default."""
    [function] = [f for f in _public_functions() if f.__name__ == name]  # type: ignore[attr-defined]
    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    hints = get_type_hints(ConvertOptions)
    for option in fields(ConvertOptions):
        assert option.name in parameters, option.name
        assert parameters[option.name].default == option.default, option.name
        if option.name != "to":  # `to` is the functions' own, positional too
            assert parameters[option.name].annotation == hints[option.name], option.name
    assert "options" not in parameters
    assert "strict: bool = False" in pydoc.render_doc(function, renderer=pydoc.plaintext)


def test_an_option_given_to_a_public_function_reaches_the_conversion() -> None:
    event = _logged_in()
    event["body"]["invented"] = 1
    [lenient] = convert_stream([event])
    [strict] = convert_stream([event], strict=True)
    assert (lenient.ok, strict.reason) == (True, "unknown-field")
    with pytest.raises(TypeError, match="stricter"):
        convert_stream([event], stricter=True)  # type: ignore[call-arg]


def test_convert_serve_and_consume_share_the_conversion_flags() -> None:
    pytest.importorskip("httpx")
    from translator.live.commands import _settings

    flags = ["--to", "canvas", "--ids", "local", "--no-generic", "--strict", "--paranoid", "--canvas-host", "h.example"]
    flags += ["--send-time", "now", "--mappings", "m"]
    expected = ConvertOptions(
        to="canvas", ids="local", generic=False, strict=True, full_output_check=True, canvas_host="h.example",
        send_time="now", mapping_dirs=("m",),
    )  # fmt: skip
    for command in ("serve", "consume"):
        args = build_parser().parse_args([command, *flags])
        assert _settings(args).convert_options() == expected
    args = build_parser().parse_args(["convert", *flags, "in.jsonl"])
    from translator.cli import _convert_options

    assert _convert_options(args) == expected


def test_the_live_defaults_are_the_library_defaults() -> None:
    pytest.importorskip("httpx")
    from translator.live.config import load_settings

    assert load_settings().convert_options() == ConvertOptions()


def _logged_in() -> dict[str, object]:
    found = [e.payload for e in canvas_examples() if e.event_type == "logged_in" and conforms(validate(e.payload))]
    return copy.deepcopy(found[0])


def test_the_summary_says_what_each_type_does_not_carry(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(_logged_in()) + "\n" for _ in range(2)), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["convert", "--to", "caliper", str(source)], io.StringIO(), out, err) == 0
    converter = Converter(ConvertOptions())
    lost = lossy_fields(converter.phases.translator.catalog.forward("logged_in"), "logged_in")  # type: ignore[arg-type]
    assert "metadata.http_method" in lost
    line = f"translator convert: not carried to Caliper: logged_in (2 events): {', '.join(lost)}"
    assert line in err.getvalue().splitlines()
    # converted back, nothing is said to be lost: the Caliper form is the input
    back = tmp_path / "caliper.jsonl"
    back.write_text(out.getvalue(), encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run(["convert", "--to", "canvas", str(back)], io.StringIO(), out, err) == 0
    assert "not carried" not in err.getvalue()


def test_one_report_gives_every_command_its_summary_and_exit_code() -> None:
    from translator.batch import Report
    from translator.errors import Problem

    bad = [Problem("/body", "missing", "required")]
    report = Report(command="validate")
    report.add_checked([], [], "logged_in")
    report.add_checked(bad, bad, "logged_in")
    assert report.lines() == ["2 records: 1 conform, 1 do not (1 errors, 0 warnings)"]
    assert (report.exit_code, dict(report.rejected)) == (1, {"invalid-input": 1})
    assert Report(command="drift", strict=True).exit_code == 0
    assert Report().exit_code == 0 and Report().lines()[0].startswith("0 records read, 0 converted, 0 rejected in ")
