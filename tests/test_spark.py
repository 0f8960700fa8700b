"""`translator.spark` on PySpark in local mode: nothing lost, every reason, the same output as `translate`,
and the workers import the package the driver ships them, not the driver's (editable) install.

Skipped where PySpark is absent (the `spark` extra); CI installs it, with Java 17, so it runs there.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="PySpark is not installed: pip install -e '.[dev,spark]' (needs Java 17)")

from corpus import caliper_examples, canvas_examples
from pyspark import SparkFiles
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

import translator
from translator.errors import TranslatorError
from translator.spark import (
    CONVERTED_COLUMNS,
    REJECTED_COLUMNS,
    convert_dataframe,
    convert_rdd,
    convert_results,
    package_archive,
    split_results,
)
from translator.validation import conforms, validate

pytestmark = pytest.mark.slow  # a JVM and a local Spark context: `pytest -m ""` runs it (README, Tests)


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One quiet local session for the module: two cores, no UI, loopback only. Its JVM, and so its
    Python workers, start in an empty directory: from the checkout, a worker would find the
    package there first (its path starts with its working directory), as no cluster node would."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PYSPARK_PYTHON", sys.executable)  # the workers' Python has the dependencies
        env.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        env.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        here = Path.cwd()
        env.chdir(tmp_path_factory.mktemp("spark-workers"))
        session = (
            SparkSession.builder.master("local[2]")
            .appName("translator-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        os.chdir(here)  # the driver goes back; the JVM keeps its directory
        try:
            yield session
        finally:
            session.stop()


def documented_events() -> list[dict[str, Any]]:
    """Every documented Canvas example that conforms (read from ../shared at test time)."""
    return [copy.deepcopy(e.payload) for e in canvas_examples() if conforms(validate(e.payload))]


def line(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"))


def without_send_time(envelope: dict[str, Any]) -> dict[str, Any]:
    """Batch conversion stamps the event time as sendTime, `translate` the current time."""
    return {key: value for key, value in envelope.items() if key != "sendTime"}


def bad_records() -> list[tuple[str, str | None, str]]:
    """(id, text, expected reason) of records that must be rejected, one per kind."""
    event = documented_events()[0]
    unknown = copy.deepcopy(event)
    unknown["metadata"]["event_name"] = "no_such_event"  # an unknown type converts, but its body must be an object
    unknown["body"] = ["not", "an", "object"]
    bad_time = copy.deepcopy(event)
    bad_time["metadata"]["event_time"] = "yesterday"
    return [
        ("truncated", line(event)[:40], "malformed-json"),
        ("blank", "   ", "malformed-json"),
        ("null", None, "malformed-json"),
        ("unknown-event-no-body", line(unknown), "invalid-input"),
        ("bad-time", line(bad_time), "invalid-input"),
        ("not-an-event", '{"hello": "world"}', "unknown-format"),
        ("a-number", "42", "not-an-object"),
        ("signed", "eyJhbGciOiJSUzI1NiJ9.eyJ4IjoxfQ.c2ln", "jwt-not-verifiable"),
    ]


@pytest.fixture(scope="module")
def mixed() -> dict[str, Any]:
    """id -> (text, expected output or reason): every documented event, a Caliper envelope, the bad ones."""
    expected: dict[str, Any] = {}
    texts: list[tuple[str, str | None]] = []
    for index, event in enumerate(documented_events()):
        key = f"{event['metadata']['event_name']}-{index}"
        texts.append((key, line(event)))
        expected[key] = without_send_time(translator.translate(event, to="caliper"))
    envelope = caliper_examples()[0].payload
    texts.append(("caliper-envelope", line(envelope)))
    expected["caliper-envelope"] = without_send_time(translator.translate(envelope, to="caliper"))
    for key, text, reason in bad_records():
        texts.append((key, text))
        expected[key] = reason
    return {"texts": texts, "expected": expected}


def test_dataframe_converts_every_record_or_says_why(spark: SparkSession, mixed: dict[str, Any]) -> None:
    df = spark.createDataFrame(mixed["texts"], "id string, value string")
    assert df.rdd.getNumPartitions() == 2
    results = convert_results(df, source_column="id").cache()  # converted once for both views
    converted, rejected = split_results(results)
    assert tuple(converted.columns) == CONVERTED_COLUMNS
    assert tuple(rejected.columns) == REJECTED_COLUMNS
    good, bad = converted.collect(), rejected.collect()

    assert len(good) + len(bad) == df.count() == len(mixed["texts"])
    assert sorted(row.source for row in good + bad) == sorted(key for key, _ in mixed["texts"])
    expected = mixed["expected"]
    assert {row.source: row.reason for row in bad} == {k: v for k, v in expected.items() if isinstance(v, str)}
    for row in good:
        assert without_send_time(json.loads(row.json)) == expected[row.source], row.source
        assert json.loads(row.warnings) == [] or all(p["severity"] == "warning" for p in json.loads(row.warnings))
    texts = dict(mixed["texts"])
    for row in bad:
        problems = json.loads(row.problems)
        assert problems and {"path", "rule", "severity", "message"} <= problems[0].keys()
        assert row.text == (texts[row.source] or "")
    event_types = {row.source: row.event_type for row in good}
    assert event_types["caliper-envelope"] == "{type}/{action}".format(**caliper_examples()[0].payload["data"][0])
    del event_types["caliper-envelope"]
    assert event_types == {key: key.rsplit("-", 1)[0] for key in event_types}  # the Canvas event_name


def test_rdd_of_lines_and_bytes(spark: SparkSession) -> None:
    events = documented_events()[:6]
    batch = [events[0], events[1]]  # a JSON array on one line: one result per event
    lines: list[Any] = [line(e) for e in events] + [line(batch), b'{"metadata": {"event_name": "caf\xe9"}}', "{"]
    results = convert_rdd(spark.sparkContext.parallelize(lines, 2)).collect()

    assert len(results) == len(lines) + len(batch) - 1
    assert Counter(r.reason for r in results if not r.ok) == {"undecodable": 1, "malformed-json": 1}
    outputs = [without_send_time(r.output) for r in results if r.output is not None]
    assert outputs == [without_send_time(translator.translate(e, to="caliper")) for e in events + batch]
    sources = [r.source for r in results]
    assert len(set(sources)) == len(sources)
    assert {s.split(":")[0] for s in sources} == {"part-0", "part-1"}
    in_batch = [s for s in sources if "#" in s]
    row = in_batch[0].split("#")[0]
    assert in_batch == [f"{row}#0", f"{row}#1"]  # the array's row, item by item


def test_archive_to_parquet_and_back_to_canvas(spark: SparkSession, tmp_path: Path) -> None:
    """What docs/spark.md shows: gzip JSON Lines read with spark.read.text, written once by status."""
    events = documented_events()[:10]
    archive = tmp_path / "live-events" / "day-1.jsonl.gz"
    archive.parent.mkdir()
    archive.write_bytes(gzip.compress(("\n".join([*map(line, events), "{not json"]) + "\n").encode()))

    lines = spark.read.text(str(archive.parent / "*.jsonl.gz"))
    row_id = F.monotonically_increasing_id().cast("string")
    lines = lines.withColumn("source", F.concat_ws(":", F.col("_metadata.file_path"), row_id))
    convert_results(lines, source_column="source").write.partitionBy("status").parquet(str(tmp_path / "out"))
    results = spark.read.parquet(str(tmp_path / "out"))
    assert results.count() == len(events) + 1
    assert results.select("source").distinct().count() == len(events) + 1
    converted, rejected = split_results(results)
    assert converted.count() == len(events)
    (reject,) = rejected.collect()
    assert (reject.reason, reject.text) == ("malformed-json", "{not json")
    assert f"{archive}:" in reject.source  # the file path (a file: URI), then the row id

    # Back to Canvas from the Parquet column: the same as `translate` of each envelope.
    envelopes = [json.loads(row.json) for row in converted.orderBy("source").collect()]
    back, none = convert_dataframe(converted.select("json"), column="json", to="canvas")
    assert none.count() == 0
    assert sorted(map(line, (json.loads(row.json) for row in back.collect()))) == sorted(
        line(translator.translate(envelope, to="canvas")) for envelope in envelopes
    )


def test_options_are_checked_on_the_driver(spark: SparkSession) -> None:
    df = spark.createDataFrame([(1, "{}")], "n int, value string")
    with pytest.raises(TranslatorError, match="unknown target format"):
        convert_dataframe(df, to="xapi")  # type: ignore[arg-type]
    with pytest.raises(TranslatorError, match="unknown id style"):
        convert_dataframe(df, to="canvas", ids="shard")  # type: ignore[arg-type]
    with pytest.raises(TranslatorError, match="no column 'body'"):
        convert_dataframe(df, column="body")
    with pytest.raises(TypeError, match="must hold JSON text"):
        convert_dataframe(df, column="n")
    with pytest.raises(TranslatorError, match="cannot read the JWKS"):
        convert_rdd(spark.sparkContext.parallelize(["{}"]), jwks="/nonexistent/jwks.json")


def test_workers_import_the_package_the_driver_ships(spark: SparkSession) -> None:
    """CI installs editable: the workers must not depend on the driver's checkout (its .pth)."""
    names = zipfile.ZipFile(package_archive()).namelist()
    assert {"__init__.py", "spark.py", "options.py", "batch/__init__.py", "mapping/compiler.py"} <= set(names)
    assert not [name for name in names if "__pycache__" in name]
    assert any(name.startswith("_data/schemas/canvas/events/") for name in names)
    assert any(name.startswith("_data/mappings/") and name.endswith(".yaml") for name in names)

    def imported_from(_: Any) -> Iterator[tuple[str, str]]:  # nested: pickled by value, for the workers
        import translator as package
        from translator.resources import data_dir

        yield package.__file__ or "", str(data_dir("schemas"))

    context = spark.sparkContext
    assert convert_rdd(context.parallelize([line(documented_events()[0])], 1)).first().ok  # ships it
    shipped = Path(SparkFiles.getRootDirectory()) / "translator"
    where = set(context.parallelize(range(2), 2).mapPartitions(imported_from).collect())
    assert where == {(str(shipped / "__init__.py"), str(shipped / "_data" / "schemas"))}
    assert Path(translator.__file__).parent != shipped  # the driver keeps its own install


def test_local_workers_without_the_dependencies_fail_on_the_driver(spark: SparkSession, tmp_path: Path) -> None:
    """What happens with PYSPARK_PYTHON unset and the venv not activated: a clear error, at once."""
    bare = tmp_path / "bare-python"  # this Python without site-packages: no jsonschema_rs, no orjson
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(0o755)
    context = spark.sparkContext
    workers_python = context.pythonExec
    context.pythonExec = str(bare)
    try:
        expected = rf"run '{re.escape(str(bare))}', which cannot import .*PYSPARK_PYTHON={re.escape(sys.executable)} "
        with pytest.raises(TranslatorError, match=expected):
            convert_rdd(context.parallelize(["{}"]))
    finally:
        context.pythonExec = workers_python
    assert convert_rdd(context.parallelize([line(documented_events()[0])], 1)).first().ok  # the context still works
