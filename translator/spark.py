"""Convert archives too large for one machine on Spark, with the same verdicts as `convert_stream`.

Each partition runs a `Converter` over its rows, so Spark gives exactly what the CLI gives:
one result per event, converted or rejected with a reason slug and the problems (see
`translator.batch` for the reasons), and converts as the CLI does, a block of rows at a time,
each row checked, converted and checked before the next. Compiling the mappings takes a fraction
of a second, so the `Translator` is built once per Python worker process and reused by every
partition it runs (Spark reuses Python workers by default, ``spark.python.worker.reuse``).

A row (or RDD element) is one record: JSON text (``str``, or UTF-8 ``bytes``), a compact JWS, or
an already parsed payload. Every row yields at least one result, so nothing is lost:

* a row holding one event (the usual JSON Lines archive) yields exactly one result, so
  ``count(in) == count(converted) + count(rejected)``;
* a row holding a batch (a JSON array, an SQS response or Lambda batch, a Caliper envelope of
  several events) yields one result per event, whose source is the row's source plus a suffix
  (``#2``, ``/Messages/0``, ``/data/1``);
* a row that is not JSON, empty, blank or null is rejected (``malformed-json``, ``undecodable``),
  never dropped. (The CLI skips blank lines; here a row is a record, so it is counted.)

A row's source is ``part-<partition>:<n>``, its 1-based position in its partition (Spark packs
small files together, so this is not a line number), or the value of `source_column` when that is
not null (e.g. the file path and a row id, see docs/spark.md).

The package ships itself: the first call on a SparkContext adds an archive of the driver's copy
of `translator` (its code, schemas and mappings) to the context, which Spark unpacks on every
executor ahead of its Python path. So the executors run the driver's code whether it is installed
normally, installed editable (whose ``.pth`` points at a checkout only the driver has), or not
installed on the nodes at all. The executors' Python must still have the dependencies
(`jsonschema-rs`, `orjson` and `msgspec` are compiled; see docs/spark.md). In local mode the
workers' Python is checked for them at once, so a wrong interpreter (``PYSPARK_PYTHON`` unset, so
``python3`` from ``PATH``) fails the call with the fix instead of failing every task. Mapping
directories must exist on every executor, and a JWKS file is read on the driver and shipped with the job.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from functools import cache, partial
from pathlib import Path
from typing import Any

try:
    from pyspark import RDD, SparkContext, SparkFiles
    from pyspark.sql import Column, DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql.types import BinaryType, StringType, StructField, StructType
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("translator.spark needs PySpark: pip install 'canvas-caliper-translator[spark]'") from exc

from .batch import Converter, ConvertResult
from .engine import Target, Translator
from .errors import Problem, TranslatorError
from .io.jsontext import compact, readable
from .options import ConvertOptions, with_options
from .io.readers import Record, parse_text, undecodable
from .resources import data_dir

RESULT_SCHEMA = StructType(
    [
        StructField("source", StringType(), False),
        StructField("status", StringType(), False),  # "converted" or "rejected"
        StructField("event_type", StringType(), True),
        StructField("json", StringType(), True),  # the converted event; null when rejected
        StructField("reason", StringType(), True),  # null when converted
        StructField("problems", StringType(), False),  # JSON array; a converted row's warnings
        StructField("text", StringType(), True),  # the original text; null when converted
    ]
)
"""One row per result: `convert_results`' schema, the union of the converted and rejected columns."""

CONVERTED_COLUMNS = ("source", "event_type", "json", "warnings")
REJECTED_COLUMNS = ("source", "event_type", "reason", "problems", "text")


@with_options
def convert_rdd(rdd: RDD[Any], to: Target = "caliper", *, options: ConvertOptions) -> RDD[ConvertResult]:
    """One `ConvertResult` per event in `rdd` (lines, bytes, parsed payloads or `Record`s), lazily.

    The options are `ConvertOptions`' (and `convert_stream`'s), each a keyword parameter. The
    default ``send_time="event"`` makes the output a pure function of the input, so a recomputed
    partition (a retried task) gives the same bytes.
    """
    options = _checked(options)
    ship_package(rdd.context)
    return rdd.mapPartitionsWithIndex(partial(_convert_items, options))


@with_options
def convert_results(
    df: DataFrame, column: str = "value", to: Target = "caliper", *, source_column: str | None = None, options: ConvertOptions
) -> DataFrame:
    """Every result in one DataFrame of `RESULT_SCHEMA`, so a job can write both kinds in one pass.

    `column` holds the records (string or binary; ``value`` is what `spark.read.text` gives);
    `source_column`, if given, names each row's source (cast to a string) instead of its position.
    Write it with ``partitionBy("status")``, or persist it before `split_results`: each action on
    a lazy DataFrame runs the conversion again. The options are `convert_rdd`'s.
    """
    return _results(df, column, source_column, options)


def _results(df: DataFrame, column: str, source_column: str | None, options: ConvertOptions) -> DataFrame:
    options = _checked(options)
    kind = _field(df, column).dataType
    if not isinstance(kind, (StringType, BinaryType)):
        raise TypeError(
            f"column {column!r} is {kind.simpleString()}; it must hold JSON text (string or binary), "
            f"e.g. F.to_json({column!r}) of a struct"
        )
    source: Column = F.lit(None).cast("string")
    if source_column is not None:
        _field(df, source_column)
        source = F.col(source_column).cast("string")
    rows = df.select(source.alias("source"), F.col(column).alias("value")).rdd
    ship_package(rows.context)
    results = rows.mapPartitionsWithIndex(partial(_convert_rows, options))
    # `_row` builds every row to the schema: Spark's per-row check would only cost time.
    return df.sparkSession.createDataFrame(results, RESULT_SCHEMA, verifySchema=False)


def split_results(results: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(converted, rejected) of a `convert_results` DataFrame, with their own columns.

    converted: ``source, event_type, json, warnings``; rejected: ``source, event_type, reason,
    problems, text``. `warnings` and `problems` are JSON arrays of ``{path, rule, severity,
    message}``, as the CLI's rejects file writes them.
    """
    status = F.col("status")
    converted = results.where(status == "converted").select(
        "source", "event_type", "json", F.col("problems").alias("warnings")
    )
    rejected = results.where(status == "rejected").select(*REJECTED_COLUMNS)
    return converted, rejected


@with_options
def convert_dataframe(
    df: DataFrame, column: str = "value", to: Target = "caliper", *, source_column: str | None = None, options: ConvertOptions
) -> tuple[DataFrame, DataFrame]:
    """(converted, rejected) DataFrames of the records in `df[column]`; see `convert_results`.

    Both are lazy views of one conversion: using both (two writes, two counts) converts twice
    unless `df` or `convert_results` is persisted first.
    """
    return split_results(_results(df, column, source_column, options))


# -- on the driver: check the options before any task runs ------------------------------------


def _checked(options: ConvertOptions) -> ConvertOptions:
    """The options with a JWKS file read here, checked so that a mistake fails the call, not every
    task of the job."""
    if isinstance(options.jwks, str):
        try:
            options = replace(options, jwks=json.loads(Path(options.jwks).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TranslatorError(f"cannot read the JWKS {options.jwks}: {exc}") from exc
    options.verifier()  # raises on a JWKS without a usable key
    if options.mapping_dirs and all(Path(d).is_dir() for d in options.mapping_dirs):
        _translator(options)  # a bad mapping fails now; dirs only the executors have are theirs to check
    return options


# -- on the driver: ship the package to the executors ------------------------------------------

PACKAGE = Path(__file__).resolve().parent
_SHIPPED: set[tuple[str, str]] = set()  # (application id, workers' Python) done


def ship_package(context: SparkContext) -> None:
    """Make the driver's copy of `translator` the one every executor of `context` imports.

    Called by every conversion here, once per context: it adds `package_archive()` as an archive
    unpacked to ``translator/`` in each executor's files directory, which PySpark puts ahead of
    site-packages on its workers' path. In local mode it also checks, once, that the workers'
    Python has the dependencies, and raises `TranslatorError` saying how to fix it if not.
    """
    key = (context.applicationId, context.pythonExec)
    if key in _SHIPPED:
        return
    context.addArchive(f"{package_archive()}#{PACKAGE.name}")  # Spark ignores a second add
    if context.master.startswith("local"):
        _check_local_workers(context.pythonExec, SparkFiles.getRootDirectory())
    _SHIPPED.add(key)


@cache
def package_archive() -> Path:
    """A zip of this package as a wheel lays it out (the code, then ``_data/schemas`` and
    ``_data/mappings``), built once per process from wherever the package is installed."""
    folder = Path(tempfile.mkdtemp(prefix="translator-spark-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    archive = folder / f"{PACKAGE.name}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        for file in sorted(PACKAGE.rglob("*")):
            inside = file.relative_to(PACKAGE)
            if file.is_file() and not {"__pycache__", "_data"} & set(inside.parts):
                out.write(file, inside.as_posix())
        for name in ("schemas", "mappings"):
            root = data_dir(name)
            for file in sorted(root.rglob("*")):
                if file.is_file():
                    out.write(file, f"_data/{name}/{file.relative_to(root).as_posix()}")
    return archive


def _check_local_workers(python: str, files_root: str) -> None:
    """Fail now, with the fix, when local workers would run a Python that cannot convert."""
    found = shutil.which(python)
    if found is not None and os.path.abspath(found) == os.path.abspath(sys.executable):
        return
    # The shipped copy, as a worker finds it: importing its batch module imports every dependency.
    script = f"import sys; sys.path.insert(1, {files_root!r}); import {PACKAGE.name}.batch"
    try:
        done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=120)
        failure = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1] if done.returncode else None
    except (OSError, subprocess.SubprocessError) as exc:
        failure = str(exc)
    if failure is not None:
        raise TranslatorError(
            f"Spark's Python workers run {python!r}, which cannot import the translator's dependencies "
            f"({failure}). Set PYSPARK_PYTHON={sys.executable} before creating the SparkSession, "
            "or install canvas-caliper-translator into that Python."
        )


# -- on the executors -----------------------------------------------------------------------

_TRANSLATORS: dict[tuple[Any, ...], Translator] = {}


def _translator(options: ConvertOptions) -> Translator:
    """This process's `Translator` for these options: compiled once, shared by its partitions."""
    key = options.translator_key
    if key not in _TRANSLATORS:
        _TRANSLATORS[key] = options.translator()
    return _TRANSLATORS[key]


def _convert_items(options: ConvertOptions, partition: int, items: Iterable[Any]) -> Iterator[ConvertResult]:
    return _convert(options, ((None, item) for item in items), partition)


def _convert_rows(options: ConvertOptions, partition: int, rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
    for result in _convert(options, ((row[0], row[1]) for row in rows), partition):
        yield _row(result)


def _convert(options: ConvertOptions, rows: Iterator[tuple[str | None, Any]], partition: int) -> Iterator[ConvertResult]:
    first = next(rows, None)
    if first is None:  # an empty partition builds nothing
        return
    records = (
        record
        for n, (source, value) in enumerate(itertools.chain([first], rows), start=1)
        for record in _records(value, source if source is not None else f"part-{partition}:{n}")
    )
    yield from Converter(options, translator=_translator(options)).stream(records)


def _records(value: Any, source: str) -> Iterator[Record]:
    """The records of one row, as `read_records` reads one line of a JSON Lines file."""
    if isinstance(value, Record):
        yield value
        return
    if value is None:
        yield Record(source, "", problem=Problem("", "an empty record (null) is not JSON", "malformed-json"))
        return
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = bytes(value).decode("utf-8", "surrogateescape")
        rejected = undecodable(source, text)
        if rejected is not None:
            yield rejected
            return
    elif isinstance(value, str):
        text = value
    else:  # already parsed
        yield Record(source, readable(value), value)
        return
    text = text.removeprefix("\ufeff")
    if not text.strip():
        yield Record(source, text, problem=Problem("", "an empty record (blank line) is not JSON", "malformed-json"))
        return
    yield from parse_text(source, text)


def _row(result: ConvertResult) -> tuple[Any, ...]:
    """A result as a `RESULT_SCHEMA` row."""
    problems = _storable(readable([problem.as_dict() for problem in result.problems]))
    if result.ok:
        output = compact(result.output).decode("utf-8")  # as the CLI writes it
        return (result.source, "converted", result.event_type, output, None, problems, None)
    text = _storable(result.text) if result.text is not None else None
    return (result.source, "rejected", result.event_type, None, result.reason, problems, text)


def _storable(text: str) -> str:
    """`text` as Spark can store it: a lone surrogate (from a ``\\udc80`` escape) escaped again."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _field(df: DataFrame, name: str) -> StructField:
    try:
        return df.schema[name]
    except (KeyError, LookupError) as exc:
        raise TranslatorError(f"the DataFrame has no column {name!r}; it has {', '.join(df.columns)}") from exc


__all__ = [
    "CONVERTED_COLUMNS",
    "REJECTED_COLUMNS",
    "RESULT_SCHEMA",
    "convert_dataframe",
    "convert_rdd",
    "convert_results",
    "package_archive",
    "ship_package",
    "split_results",
]
