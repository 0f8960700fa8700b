#!/usr/bin/env python3
"""Throughput and memory of the translator on a realistic mix of Canvas events, both directions,
measured side by side in one run.

Not a test: it prints figures (see bench/README.md). In one run it

1. builds corpora of Canvas live events from the documented examples (read from ``../shared`` at
   run time): the **realistic mix** (about 60% ``asset_accessed``, then logins, submissions, grades,
   discussions, pages, enrollments, ...) and the **uniform mix** (every event type equally often).
   Every event gets fresh ids, host, event_time, request id, session id and client address; no
   literal id, host or time of an example survives. They are written as JSON Lines under
   ``bench/out/``, with their Caliper conversions for the other direction;
2. measures, each in a fresh process streaming the files (peak RSS its own), for Canvas -> Caliper
   and for Caliper -> Canvas: the floors (orjson parse of the input and serialisation of the input
   itself, the *input floor*; or of the real output, the *in+out floor*), the library one event at
   a time (``translate``), the stream (``convert_stream`` over ``read_records(lazy=True)``); and,
   Canvas -> Caliper only, plain jsonschema (``naive``) and where the stream's time goes
   (conversion alone, checks alone);
3. runs ``translator convert`` on a big file (1,000,000 realistic events by default) in both
   directions with 1 and 2 workers (wall time, peak RSS, the sampled sum over the workers), and on a
   quarter of it, to see that peak RSS is flat in the input size;
4. converts the first 200,000 big-file events on Spark ``local[2]`` (``translator.spark``), when
   PySpark and Java are there;
5. prints one report, with the goals of issue 17 met or not, and writes every figure to
   ``bench/out/results.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SHARED = REPO.parent / "shared"
EXAMPLES_DIR = Path("corpus/canvas-lms/canvas/event-types")

#: Documentation examples that do not conform (see tests/test_canvas_schemas.py BROKEN_EXAMPLES).
BROKEN_EXAMPLES = {"course_updated[0]", "user_updated[0]", "grade_override[0]"}

#: The realistic mix: relative frequencies of event types in a Canvas live-events feed, where
#: page views dominate. Every other documented type gets `OTHER_WEIGHT`, so each still shows up.
REALISTIC_MIX = {
    "asset_accessed": 60.0,
    "logged_in": 5.0,
    "logged_out": 2.5,
    "submission_created": 3.5,
    "submission_updated": 3.5,
    "grade_change": 3.0,
    "discussion_entry_created": 2.0,
    "discussion_entry_submitted": 0.5,
    "discussion_topic_created": 0.5,
    "discussion_topic_updated": 0.3,
    "wiki_page_created": 0.5,
    "wiki_page_updated": 1.0,
    "wiki_page_deleted": 0.1,
    "enrollment_created": 1.2,
    "enrollment_updated": 0.8,
    "enrollment_state_created": 0.8,
    "enrollment_state_updated": 0.8,
    "quiz_submitted": 1.0,
    "submission_comment_created": 0.8,
    "conversation_message_created": 0.8,
    "attachment_created": 0.8,
    "assignment_updated": 0.6,
    "assignment_created": 0.4,
    "course_progress": 0.6,
    "learning_outcome_result_created": 0.4,
    "module_item_updated": 0.3,
}
OTHER_WEIGHT = 0.1

SHARD = 10**13  # a Canvas global id is shard * 10**13 + local id
WARMUP = 200  # lines processed untimed first in each stage (lazy compilation, caches)
FLOOR_SECONDS = 2.0  # the floors repeat their pass for at least this long (and 3 passes)
# The headline stages (input floor, translate, stream) run in this many rounds, one after the
# other in each: this machine's speed drifts by a quarter between minutes, so a ratio is taken
# within a round, and the median round counts (for each stage's own figure too).
ROUNDS = 3
# translate() and the stream also time the input floor on each chunk of this many lines right after
# converting it: a pair a few milliseconds apart, which the machine's drift cannot split. A
# round's ratio is the median pair's; the stage's own time is the sum of its chunks.
CHUNK = 1000
TIME_FROM = 1546300800  # 2019-01-01T00:00:00Z
TIME_TO = 1767225600  # 2026-01-01T00:00:00Z

TIME_SLOT = "@@EVENT_TIME@@"
# A global id: 14 to 20 digits, not part of a longer word or of a decimal number.
GLOBAL_ID = r"(?<![\w.])([0-9]{14,20})(?![\w.])"
#: Metadata values that are ids of their own kind: each gets a fresh value per event.
FRESH_VALUES = {"request_id": "uuid", "session_id": "token", "client_ip": "address", "root_account_uuid": "account"}
SLOTS = ("time", "host", "uuid", "token", "address", "account", "guid")  # format fields 0-6; the global ids follow
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

FLAT_GROWTH = 1.2  # peak RSS for 4N events within this factor of that for N counts as flat
TARGETS = {
    "floor_ratio": 10.0,  # Canvas -> Caliper, one event at a time, x the input floor
    "reverse_floor_ratio": 12.0,  # Caliper -> Canvas, x its input floor
    "naive_ratio": 10.0,  # the stream against plain jsonschema
    "big_seconds_2w": 45.0,  # translator convert --workers 2 on big_events
    "big_events": 1_000_000,
    "rss_mb": 300.0,
}
DEFAULTS = {"events": 100_000, "uniform_events": 20_000, "big_events": 1_000_000, "spark_events": 200_000, "naive_sample": 2_000}
QUICK = {"events": 5_000, "uniform_events": 2_000, "big_events": 20_000, "spark_events": 20_000, "naive_sample": 500}


# -- the corpus -----------------------------------------------------------------------------


class Template:
    """One documented example as a format string: its structure and ordinary values kept, its
    event_time, host, global ids and other ids (request, session, client address, root account
    uuid and LTI guid) turned into slots that `render` fills with fresh values."""

    def __init__(self, label: str, payload: dict[str, Any]) -> None:
        self.label = label
        payload = json.loads(json.dumps(payload))
        metadata = payload["metadata"]
        metadata["event_time"] = TIME_SLOT
        self.host = metadata.get("hostname") or _guid_domain(metadata.get("root_account_lti_guid"))
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        kinds = [("id", GLOBAL_ID), ("time", re.escape(TIME_SLOT))]
        if self.host:
            kinds.append(("host", re.escape(self.host)))
        fresh = {kind: metadata.get(key) for key, kind in FRESH_VALUES.items()}
        guid = metadata.get("root_account_lti_guid")
        fresh["guid"] = re.split("[.:]", guid, maxsplit=1)[0] if isinstance(guid, str) else None  # <hash>.<host>
        for kind, value in fresh.items():
            if isinstance(value, str) and value:
                kinds.append((kind, re.escape(json.dumps(value, ensure_ascii=False)[1:-1])))
        pattern = re.compile("|".join(f"({regex})" if kind != "id" else regex for kind, regex in kinds))
        ids: dict[int, int] = {}  # global id -> index of its slot
        pieces: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            pieces.append(text[last : match.start()].replace("{", "{{").replace("}", "}}"))
            kind = kinds[(match.lastindex or 1) - 1][0]
            if kind == "id":
                index = ids.setdefault(int(match.group(1)), len(ids))
                pieces.append("{%d}" % (index + len(SLOTS)))
            else:
                pieces.append("{%d}" % SLOTS.index(kind))
            last = match.end()
        pieces.append(text[last:].replace("{", "{{").replace("}", "}}"))
        self.format = "".join(pieces)
        self.ids = list(ids)  # original global ids, in slot order
        self.shards = sorted({gid // SHARD for gid in self.ids})
        self.shard_index = [self.shards.index(gid // SHARD) for gid in self.ids]
        self.locals = [gid % SHARD for gid in self.ids]

    def render(self, rng: random.Random, event_time: str, host: str) -> str:
        """The example with new ids (consistent within the event), `host`, `event_time` and fresh
        request values."""
        if len(self.shards) == 1:
            new_shards = [rng.randrange(1, 100_000)]
        else:
            new_shards = rng.sample(range(1, 100_000), len(self.shards))
        offset = rng.randrange(1, SHARD)
        bits = rng.getrandbits(128)
        uuid = "%08x-%04x-4%03x-%04x-%012x" % (bits >> 96, (bits >> 80) & 0xFFFF, (bits >> 68) & 0xFFF, 0x8000 | ((bits >> 52) & 0x3FFF), bits & 0xFFFFFFFFFFFF)
        token = "%032x" % rng.getrandbits(128)
        address = "%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        account = "".join(rng.choices(ALPHANUMERIC, k=40))
        guid = "%040x" % rng.getrandbits(160)
        values = [event_time, host, uuid, token, address, account, guid]
        for shard_index, local in zip(self.shard_index, self.locals):
            values.append(str(new_shards[shard_index] * SHARD + ((local + offset) % SHARD or 1)))
        return self.format.format(*values)


def _guid_domain(guid: Any) -> str | None:
    """The host in ``<hash>.<host>`` (system events without a hostname); None for ``<hash>:canvas-lms``."""
    if isinstance(guid, str) and "." in guid:
        return guid.split(".", 1)[1]
    return None


def load_templates(shared: Path) -> dict[str, list[Template]]:
    folder = shared / EXAMPLES_DIR
    files = sorted(folder.glob("*.json"))
    if not files:
        raise SystemExit(f"bench: no Canvas event examples in {folder} (give --shared)")
    by_type: dict[str, list[Template]] = {}
    for file in files:
        document = json.loads(file.read_text(encoding="utf-8"))
        for index, example in enumerate(document["examples"]):
            label = f"{file.stem}[{index}]"
            if label not in BROKEN_EXAMPLES:
                by_type.setdefault(file.stem, []).append(Template(label, example["payload"]))
    return by_type


def mix_weights(templates: dict[str, list[Template]], mix: str) -> dict[str, float]:
    """Event type -> weight: `REALISTIC_MIX` (the rest at `OTHER_WEIGHT`), or 1 each for uniform."""
    if mix == "uniform":
        return {kind: 1.0 for kind in sorted(templates)}
    missing = sorted(set(REALISTIC_MIX) - set(templates))
    if missing:
        raise SystemExit(f"bench: the realistic mix names event types without examples: {', '.join(missing)}")
    return {kind: REALISTIC_MIX.get(kind, OTHER_WEIGHT) for kind in sorted(templates)}


def make_hosts(rng: random.Random, count: int = 500) -> list[str]:
    words = ["canvas", "learn", "lms", "courses", "elearning", "online", "campus", "study", "class", "k12"]
    tlds = ["instructure.com", "edu", "ac.uk", "edu.au", "org", "ac.nz"]
    hosts = []
    for number in range(count):
        word = rng.choice(words)
        if rng.random() < 0.5:
            hosts.append(f"{word}{number}.instructure.com")
        else:
            hosts.append(f"{word}.school{number}.{rng.choice(tlds)}")
    return hosts


def write_corpus(path: Path, count: int, templates: dict[str, list[Template]], seed: int, mix: str) -> dict[str, Any]:
    """`count` events as JSON Lines: an event type drawn by the mix's weights, then one of its examples."""
    rng = random.Random(seed)
    hosts = make_hosts(rng)
    weights = mix_weights(templates, mix)
    kinds, cumulative = list(weights), list(itertools.accumulate(weights.values()))
    types: Counter[str] = Counter()
    started = time.perf_counter()
    size = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        for kind in rng.choices(kinds, cum_weights=cumulative, k=count):
            template = rng.choice(templates[kind])
            millis = rng.randrange(TIME_FROM * 1000, TIME_TO * 1000)
            seconds, ms = divmod(millis, 1000)
            event_time = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % ms
            batch.append(template.render(rng, event_time, rng.choice(hosts)))
            types[kind] += 1
            if len(batch) >= 10_000:
                text = "\n".join(batch) + "\n"
                size += len(text.encode("utf-8"))
                out.write(text)
                batch.clear()
        if batch:
            text = "\n".join(batch) + "\n"
            size += len(text.encode("utf-8"))
            out.write(text)
    top = [(kind, round(100 * n / count, 1)) for kind, n in types.most_common(4)]
    return {"events": count, "bytes": size, "types": len(types), "mix": mix, "top": top, "seconds": time.perf_counter() - started}


def head(source: Path, target: Path, count: int) -> None:
    with open(source, "rb") as lines, open(target, "wb") as out:
        out.writelines(itertools.islice(lines, count))


def relative(path: Path) -> str:
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


# -- stages, each run in a fresh process ------------------------------------------------------


def _lines(path: str, limit: int | None) -> Any:
    with open(path, "rb") as stream:
        yield from itertools.islice(stream, limit) if limit else stream


_EVENT_NAME = re.compile(rb'"event_name":"([^"]*)"')


def _warmup(path: str) -> list[bytes]:
    """The untimed lines a stage runs first: the first `WARMUP` and the first of each event type
    (each type's plan, schemas and proof are made on its first event, a one-off cost the setup
    line reports, not a per-event one). A Caliper file is line for line its Canvas file's
    conversion (`X.caliper.jsonl` beside `X.jsonl`), so the Canvas file tells the types."""
    canvas = path.replace(".caliper.jsonl", ".jsonl")
    first: dict[bytes, int] = {}
    for index, line in enumerate(_lines(canvas, None)):
        if (found := _EVENT_NAME.search(line)) is not None:
            first.setdefault(found.group(1), index)
    wanted = set(range(WARMUP)) | set(first.values())
    return [line for index, line in enumerate(_lines(path, None)) if index in wanted]


def _paired(path: str, pair: str | None, limit: int | None, size: int = 1000) -> Any:
    """Batches of (input line, parsed output or None): the outputs are parsed here, untimed."""
    import orjson

    lines = _lines(path, limit)
    outputs = _lines(pair, limit) if pair else itertools.repeat(None)
    while batch := list(itertools.islice(zip(lines, outputs), size)):
        yield [(line, orjson.loads(output) if output is not None else None) for line, output in batch]


def stage_floor(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """The floor: orjson parse of each line, then serialisation of the parsed input itself (the
    input floor) or, with `pair`, of the real output of that line (the in+out floor). Every ratio
    divides by it and a pass is short, so passes repeat for `FLOOR_SECONDS` and the median counts."""
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
    passes: list[float] = []
    count = 0
    while len(passes) < 3 or sum(passes) < FLOOR_SECONDS:
        count, seconds = 0, 0.0
        for batch in _paired(path, pair, limit):
            started = time.perf_counter()
            for line, output in batch:
                parsed = loads(line)
                dumps(parsed if output is None else output)
            count, seconds = count + len(batch), seconds + time.perf_counter() - started
        passes.append(seconds)
    return {"events": count, "seconds": sorted(passes)[len(passes) // 2], "passes": len(passes)}


def stage_translate(path: str, limit: int | None, to: str, pair: str | None, paired: bool = True) -> dict[str, Any]:
    """The library one event at a time: parse, `Translator.translate` (checked), serialise.
    `paired`: time the input floor on each chunk too (`CHUNK`)."""
    import orjson

    import translator

    loads, dumps = orjson.loads, orjson.dumps
    converter = translator.Translator()
    translate = converter.translate
    for line in _warmup(path):
        dumps(translate(loads(line), to))
    count, seconds, ratios = 0, 0.0, []
    for chunk in _chunks(path, limit, paired):
        started = time.perf_counter()
        for line in chunk:
            dumps(translate(loads(line), to))
        spent = time.perf_counter() - started
        if paired:
            ratios.append(spent / _floor_seconds(chunk))
        count, seconds = count + len(chunk), seconds + spent
    return {"events": count, "seconds": seconds, "paired_ratios": ratios}


def _chunks(path: str, limit: int | None, paired: bool) -> Any:
    """The lines in chunks of `CHUNK` when `paired`, else in one."""
    lines = _lines(path, limit)
    while chunk := list(itertools.islice(lines, CHUNK if paired else None)):
        yield chunk


def _floor_seconds(lines: list[bytes]) -> float:
    """The input floor of `lines`, the pair of a stage's chunk of the same lines: the faster of
    two passes, as the floor stage takes it warm (the first pass runs in caches the stage filled)."""
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
    passes = []
    for _ in range(2):
        started = time.perf_counter()
        for line in lines:
            dumps(loads(line))
        passes.append(time.perf_counter() - started)
    return min(passes)


def stage_stream(path: str, limit: int | None, to: str, pair: str | None, paired: bool = True) -> dict[str, Any]:
    """The stream: the project reads the file itself, as the CLI does (`read_records(lazy=True)`:
    blocks of lines, each line parsed, checked and converted before the next); the outputs are
    serialised here. `paired`: as `stage_translate`."""
    import orjson

    import translator
    from translator.io.readers import read_records

    def run(file: Path) -> tuple[int, Counter[str]]:
        count, rejected = 0, Counter[str]()
        for result in translator.convert_stream(read_records([str(file)], lazy=True), to, translator=converter):  # type: ignore[arg-type]
            count += 1
            if result.output is not None:
                orjson.dumps(result.output)
            else:
                rejected[result.reason or "?"] += 1
        return count, rejected

    with tempfile.TemporaryDirectory() as scratch:
        warmup, source = Path(scratch) / "warmup.jsonl", Path(scratch) / "chunk.jsonl"
        warmup.write_bytes(b"".join(_warmup(path)))
        started = time.perf_counter()
        converter = translator.Translator()
        run(warmup)
        setup = time.perf_counter() - started
        count, seconds, ratios, rejected = 0, 0.0, [], Counter[str]()
        for chunk in _chunks(path, limit, paired):
            source.write_bytes(b"".join(chunk))
            started = time.perf_counter()
            done, refused = run(source)
            spent = time.perf_counter() - started
            if paired:
                ratios.append(spent / _floor_seconds(chunk))
            count, seconds = count + done, seconds + spent
            rejected.update(refused)
    return {"events": count, "seconds": seconds, "setup_seconds": setup, "rejected": dict(rejected), "paired_ratios": ratios}


def stage_prepare(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """Untimed: the Caliper conversion of the Canvas file `path`, line for line, written to `pair`."""
    import translator
    from translator.io.readers import read_records

    assert pair is not None
    converted = rejected = 0
    with open(pair, "wb") as out:
        for block in translator.convert_blocks(read_records([path], lazy=True), to):  # type: ignore[arg-type]
            out.write(block.encoded)
            converted += sum(block.converted.values())
            rejected += len(block.rejects)
    if rejected:
        raise SystemExit(f"bench: {rejected} events of {path} did not convert")
    return {"events": converted, "seconds": 0.0}


def stage_naive(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """Plain jsonschema in and out around the floor's parse and serialise, without converting:
    one validator per Canvas event type for the input, the canvas-profile envelope for the
    output (converted beforehand, untimed)."""
    import orjson
    from jsonschema import Draft202012Validator

    import translator
    from translator.schema_store import SCHEMA_BASE, schema_store

    loads, dumps = orjson.loads, orjson.dumps
    registry = schema_store().registry
    metadata_ref = SCHEMA_BASE + "canvas/metadata.json"
    validators: dict[str, Any] = {}

    def input_validator(name: str) -> Any:
        found = validators.get(name)
        if found is None:
            schema = {
                "type": "object",
                "required": ["metadata", "body"],
                "properties": {
                    "metadata": {"$ref": metadata_ref},
                    "body": {"$ref": SCHEMA_BASE + f"canvas/events/{name}.json"},
                },
            }
            found = validators[name] = Draft202012Validator(schema, registry=registry)
        return found

    output_validator = Draft202012Validator({"$ref": SCHEMA_BASE + "caliper/canvas/envelope.json"}, registry=registry)

    converter = translator.Translator()
    sample = [(line, converter.translate(loads(line), "caliper", validate=False)) for line in _lines(path, limit)]

    def check(line: bytes, output: dict[str, Any]) -> int:
        payload = loads(line)
        errors = sum(1 for _ in input_validator(payload["metadata"]["event_name"]).iter_errors(payload))
        errors += sum(1 for _ in output_validator.iter_errors(output))
        dumps(output)
        return errors

    for line, output in sample[:WARMUP]:
        check(line, output)
    errors = invalid = 0
    started = time.perf_counter()
    for line, output in sample:
        found = check(line, output)
        errors += found
        invalid += found > 0
    seconds = time.perf_counter() - started
    return {"events": len(sample), "seconds": seconds, "schema_errors": errors, "events_with_errors": invalid}


def stage_unchecked(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """A diagnostic: the conversion alone, through the public `validate=False`."""
    import orjson

    import translator

    loads, dumps = orjson.loads, orjson.dumps
    converter = translator.Translator()

    def convert(line: bytes) -> None:
        payload = loads(line)
        send_time = payload["metadata"]["event_time"]  # what convert_stream's send_time="event" gives
        dumps(converter.translate(payload, "caliper", validate=False, send_time=send_time))

    for line in _warmup(path):
        convert(line)
    count = 0
    started = time.perf_counter()
    for line in _lines(path, limit):
        convert(line)
        count += 1
    return {"events": count, "seconds": time.perf_counter() - started}


def stage_checks(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """A diagnostic: the project's two checks alone, as the stream's accept path makes them
    (`Translator.problems` of the input, `Translator.output_problems` of the output: through the
    event type's plan, so a proven mapping's output has only its computed leaves checked), around
    the floor's parse and serialise. The outputs are the pair file's, parsed untimed a thousand at
    a time so memory stays flat."""
    import orjson

    import translator

    loads, dumps = orjson.loads, orjson.dumps
    converter = translator.Translator()
    count, seconds = 0, 0.0
    for number, batch in enumerate(_paired(path, pair, limit)):
        started = time.perf_counter()
        for line, output in batch:
            payload = loads(line)
            if converter.problems(payload, "canvas") or converter.output_problems(payload, output, "caliper"):
                raise SystemExit("bench: a check found problems in the generated corpus")
            dumps(output)
        if number or len(batch) < 1000:
            count, seconds = count + len(batch), seconds + time.perf_counter() - started
    return {"events": count, "seconds": seconds}


def stage_spark(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """Spark local[2]: the job docs/spark.md shows (read the JSON Lines as text, `convert_results`,
    one Parquet write partitioned by status), then the written rows counted by status."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    try:
        from pyspark.sql import SparkSession

        from translator.spark import convert_results
    except ImportError as exc:
        return {"skipped": f"PySpark is not installed ({exc}): pip install -e '.[spark]'"}
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return {"skipped": "Java is not installed (Spark needs 17 or later)"}
    started = time.perf_counter()
    session = (
        SparkSession.builder.master("local[2]")
        .appName("translator-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.files.maxPartitionBytes", "32m")  # what docs/spark.md advises
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as scratch:
        warmup = session.read.text(path).limit(WARMUP * 10)  # the JVM's JIT and the workers' Translator
        convert_results(warmup, to=to).write.parquet(str(Path(scratch) / "warmup"))  # type: ignore[arg-type]
        setup = time.perf_counter() - started
        lines = session.read.text(path)
        partitions = lines.rdd.getNumPartitions()
        started = time.perf_counter()
        convert_results(lines, to=to).write.partitionBy("status").parquet(str(Path(scratch) / "out"))  # type: ignore[arg-type]
        seconds = time.perf_counter() - started
        counts = {row["status"]: row["count"] for row in session.read.parquet(str(Path(scratch) / "out")).groupBy("status").count().collect()}
    session.stop()
    return {"events": sum(counts.values()), "seconds": seconds, "setup_seconds": setup, "partitions": partitions, "by_status": counts}


STAGES = {
    "floor": stage_floor, "translate": stage_translate, "stream": stage_stream, "prepare": stage_prepare,
    "naive": stage_naive, "unchecked": stage_unchecked, "checks": stage_checks, "spark": stage_spark,
}  # fmt: skip


def run_stage_here(name: str, path: str, limit: int | None, to: str, pair: str | None) -> None:
    """The child side: measure one stage, print one JSON line with its own peak RSS."""
    result = STAGES[name](path, limit, to, pair)
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


def run_stage(name: str, path: Path, limit: int | None = None, to: str = "caliper", pair: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", name, "--input", str(path), "--to", to]
    if limit:
        command += ["--limit", str(limit)]
    if pair:
        command += ["--pair", str(pair)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"bench: stage {name} failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if "seconds" in result:
        result["rate"] = result["events"] / result["seconds"] if result["seconds"] > 0 else float("inf")
    return result


# -- translator convert in a subprocess -------------------------------------------------------


def translator_command() -> list[str]:
    script = Path(sys.executable).parent / "translator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "translator"]


class TreeMemory(threading.Thread):
    """Samples the memory of a process tree: the peak over time of the sum over its processes.

    PSS (shared pages split between the processes sharing them, so forked workers are not
    counted twice) when /proc/<pid>/smaps_rollup exists, else RSS.
    """

    def __init__(self, root: int, exclude_root: bool, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.exclude_root = exclude_root
        self.every = every
        self.peak_kb = 0
        self.peak_processes = 0
        self.kind = "PSS" if Path(f"/proc/{os.getpid()}/smaps_rollup").exists() else "RSS"
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            pids = self._tree()
            total = sum(self._memory_kb(pid) for pid in pids)
            if total > self.peak_kb:
                self.peak_kb = total
            self.peak_processes = max(self.peak_processes, len(pids))

    def stop(self) -> None:
        self.done.set()
        self.join()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
        found, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(children.get(pid, ()))
        return found[1:] if self.exclude_root else found

    def _memory_kb(self, pid: int) -> int:
        try:
            if self.kind == "PSS":
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
                return 0
            pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
            return pages * os.sysconf("SC_PAGE_SIZE") // 1024
        except (OSError, ValueError, IndexError):
            return 0


WRAPPER = """\
import resource, subprocess, sys
code = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code, file=sys.stderr)
"""


def run_convert(source: Path, workers: int, out_dir: Path, keep: bool, to: str = "caliper") -> dict[str, Any]:
    """`translator convert --to <to>` on `source`: wall time, peak RSS, records converted. The
    output is deleted unless `keep`; `output` names it."""
    output = out_dir / f"{source.stem}.{to}-w{workers}.jsonl"
    rejects = out_dir / f"{source.stem}.rejects-{to}-w{workers}.jsonl"
    convert = [*translator_command(), "convert", "--to", to, str(source), "-o", str(output), "--rejects", str(rejects), "--workers", str(workers)]
    gnu_time = shutil.which("time", path="/usr/bin")
    with tempfile.NamedTemporaryFile("w+", suffix=".log", dir=out_dir, delete=False) as log:
        log_path = Path(log.name)
    time_path = log_path.with_suffix(".time")
    if gnu_time:
        command = [gnu_time, "-v", "-o", str(time_path), *convert]
        how = "/usr/bin/time -v"
    else:
        command = [sys.executable, "-c", WRAPPER, *convert]
        how = "RUSAGE_CHILDREN"
    with open(log_path, "w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, cwd=REPO)
        tree = TreeMemory(process.pid, exclude_root=True)
        tree.start()
        code = process.wait()
        wall = time.perf_counter() - started
        tree.stop()
    text = log_path.read_text(errors="replace")
    log_path.unlink()
    if gnu_time:
        timed = time_path.read_text(errors="replace") if time_path.exists() else ""
        time_path.unlink(missing_ok=True)
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", timed)
        maxrss = int(match.group(1)) if match else 0
        status = re.search(r"Exit status: (\d+)", timed)
        code = int(status.group(1)) if status else code
    else:
        last = [line for line in text.splitlines() if re.fullmatch(r"\d+ -?\d+", line.strip())]
        maxrss, code = (int(x) for x in last[-1].split()) if last else (0, code)
    summary = re.search(r"(\d+) records? read, (\d+) converted, (\d+) rejected", text)
    converted = int(summary.group(2)) if summary else None
    rejected = int(summary.group(3)) if summary else None
    if code not in (0, 1) or summary is None:
        sys.stderr.write(text[-3000:])
        raise SystemExit(f"bench: translator convert --workers {workers} failed (exit {code})")
    if not keep:
        output.unlink(missing_ok=True)
    if not rejected:
        rejects.unlink(missing_ok=True)
    return {
        "to": to,
        "output": str(output),
        "workers": workers,
        "events": int(summary.group(1)),
        "converted": converted,
        "rejected": rejected,
        "exit": code,
        "seconds": wall,
        "rate": int(summary.group(1)) / wall,
        "maxrss_kb": maxrss,
        "maxrss_by": how,
        "tree_peak_kb": tree.peak_kb,
        "tree_kind": tree.kind,
        "tree_processes": tree.peak_processes,
    }


# -- the report -------------------------------------------------------------------------------


def mb(kb: int | float) -> str:
    return f"{kb / 1024:,.0f} MB"


def rate(value: float) -> str:
    return f"{value:,.0f}"


def micros(stage: dict[str, Any]) -> float:
    return 1e6 / stage["rate"]


def floor_ratio(stage: dict[str, Any], floor_in: dict[str, Any]) -> float:
    """`stage` against the input floor: the median of its rounds' ratios when it ran in rounds,
    else of its chunks' pairs when it timed them, else against the floor stage."""
    if "floor_ratio" in stage:
        return stage["floor_ratio"]
    return _median(stage["paired_ratios"]) if stage.get("paired_ratios") else micros(stage) / micros(floor_in)


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for name in ("canvas-caliper-translator", "orjson", "jsonschema", "jsonschema-rs", "referencing", "pyspark"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    try:
        head_commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "translator", "schemas", "mappings"], capture_output=True, text=True, cwd=REPO).stdout.strip())
    except OSError:
        head_commit, dirty = "?", False
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "commit": head_commit + ("+uncommitted changes" if dirty else ""),
        "versions": versions,
        "load_average_at_start": os.getloadavg()[0],
    }


def table(rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def describe(corpus: dict[str, Any]) -> str:
    top = ", ".join(f"{kind} {share}%" for kind, share in corpus["top"])
    return (
        f"{corpus['events']:,} events of {corpus['types']} event types, {corpus['bytes'] / corpus['events']:,.0f} "
        f"bytes/event ({top}, ...; {corpus['path']})"
    )


STAGE_LABELS = {
    "floor_in": "input floor: orjson parse + serialise of the input",
    "floor_out": "in+out floor: parse + serialise of the real output",
    "translate": "library, one event at a time: translate(), checked",
    "stream": "stream: convert_stream(read_records(lazy)), checked",
    "naive": "plain jsonschema in & out, no conversion",
    "unchecked": "(where the stream's time goes) conversion alone",
    "checks": "(where the stream's time goes) the two checks alone",
}


def direction_table(title: str, stages: dict[str, Any]) -> list[str]:
    floor_in, floor_out = stages["floor_in"], stages["floor_out"]
    rows = [[title, "events", "events/s", "us/event", "x input floor", "x in+out floor", "peak RSS"]]
    for key, stage in stages.items():
        label = STAGE_LABELS[key] + (" [sample]" if key == "naive" else "")
        rows.append([
            label,
            f"{stage['events']:,}",
            rate(stage["rate"]),
            f"{micros(stage):.1f}",
            f"{floor_ratio(stage, floor_in):.1f}",
            f"{micros(stage) / micros(floor_out):.1f}",
            mb(stage["maxrss_kb"]),
        ])
    return table(rows, {1, 2, 3, 4, 5, 6})


def report(results: dict[str, Any]) -> list[str]:
    env = results["environment"]
    forward, reverse = results["realistic"]["caliper"], results["realistic"]["canvas"]
    lines = [
        "",
        "=" * 110,
        f"translator benchmark  ({env['commit']}; Python {env['python']}, {env['cpus']} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        + ")",
        f"load average: {env['load_average_at_start']:.1f} at the start, {results['load_average_at_end']:.1f} at the end"
        + ("   (a busy machine: the figures are only indicative)" if max(env["load_average_at_start"], results["load_average_at_end"]) > 0.5 * (env["cpus"] or 1) else ""),
        f"realistic mix: {describe(results['corpora']['realistic'])}",
        f"uniform mix:   {describe(results['corpora']['uniform'])}",
        "",
        *direction_table("Canvas -> Caliper, realistic mix (one process each)", forward),
    ]
    setup = forward["stream"]["setup_seconds"]
    rest = micros(forward["stream"]) - micros(forward["unchecked"]) - micros(forward["checks"]) + micros(forward["floor_out"])
    lines += [
        f"setup (Translator() and {WARMUP} warm-up events plus one of each type, untimed): {setup:.2f} s.  Where the stream's time goes, per event: "
        f"the checks {micros(forward['checks']) - micros(forward['floor_out']):.1f} us, the conversion "
        f"{micros(forward['unchecked']) - micros(forward['floor_in']):.1f} us, the rest {rest:.1f} us (reading, bookkeeping, caches)",
    ]
    naive = forward["naive"]
    if naive.get("events_with_errors"):
        lines.append(
            f"note: plain jsonschema found {naive['schema_errors']:,} errors in {naive['events_with_errors']:,} of the "
            f"{naive['events']:,} sampled events; it does not know our warning keywords."
        )
    for direction in (forward, reverse):
        if direction["stream"].get("rejected"):
            lines.append(f"WARNING: the stream rejected generated events: {direction['stream']['rejected']}")
    lines += [
        "",
        *direction_table("Caliper -> Canvas, realistic mix (one process each)", reverse),
        "(the in+out floor serialises the original Canvas event, which is what the conversion gives back)",
        "",
        f"the realistic mix's input floor, translate() and stream ran in {ROUNDS} rounds, one after the other; each figure above is the",
        f"median round. translate() and the stream timed the input floor on each {CHUNK:,} lines right after converting them; a round's",
        "ratio is its median pair's, each ratio above the median round's (x input floor, round by round; in brackets, the stage",
        "against the round's floor stage, a minute apart, which the machine's drift moves):",
    ]
    for label, direction in (("Canvas -> Caliper", forward), ("Caliper -> Canvas", reverse)):
        rounds = [
            f"{key} {' / '.join(f'{r:.1f}' for r in direction[key]['floor_ratios'])} ({' / '.join(f'{r:.1f}' for r in direction[key]['unpaired_ratios'])})"
            for key in ("translate", "stream")
            if "floor_ratios" in direction[key]
        ]
        if rounds:
            lines.append(f"  {label}: {';  '.join(rounds)}")
    lines.append("")
    uniform = results["uniform"]
    parts = []
    for to, label in (("caliper", "Canvas -> Caliper"), ("canvas", "Caliper -> Canvas")):
        stages = uniform[to]
        parts.append(
            f"{label}: translate {micros(stages['translate']):.1f} us ({micros(stages['translate']) / micros(stages['floor_in']):.1f}x), "
            f"stream {micros(stages['stream']):.1f} us ({micros(stages['stream']) / micros(stages['floor_in']):.1f}x)"
        )
    lines.append(f"uniform mix (x its input floor): {';  '.join(parts)}")

    cli = results["cli"]
    lines += ["", f"translator convert on {results['corpora']['big']['events']:,} realistic events (subprocess; {results['corpora']['big']['path']}):"]
    rows = [["direction", "workers", "events", "wall s", "events/s", "us/event", "peak RSS (largest process)", f"peak {cli[0]['tree_kind']} sum (sampled)", "rejected"]]
    for run in cli:
        rows.append([
            "Canvas -> Caliper" if run["to"] == "caliper" else "Caliper -> Canvas",
            str(run["workers"]),
            f"{run['events']:,}",
            f"{run['seconds']:.1f}",
            rate(run["rate"]),
            f"{1e6 / run['rate']:.1f}",
            mb(run["maxrss_kb"]),
            f"{mb(run['tree_peak_kb'])} ({run['tree_processes']} proc)",
            f"{run['rejected']:,}",
        ])
    lines += table(rows, {1, 2, 3, 4, 5, 6, 7, 8})
    lines.append(f"(peak RSS of the largest process by {cli[0]['maxrss_by']}; the sampled sum covers the main process and its workers)")
    small, large = results["flat"]
    growth = large["maxrss_kb"] / small["maxrss_kb"] if small["maxrss_kb"] else float("nan")
    lines.append(
        f"RSS flatness (Canvas -> Caliper, --workers 1): {small['events']:,} events: {mb(small['maxrss_kb'])};  "
        f"{large['events']:,} events: {mb(large['maxrss_kb'])}  ({growth:.2f}x for {large['events'] / small['events']:.0f}x the input)"
    )

    spark = results["spark"]
    lines.append("")
    if "skipped" in spark:
        lines.append(f"Spark local[2]: skipped: {spark['skipped']}")
    else:
        lines.append(
            f"Spark local[2] (convert_results, then one Parquet write by status): {spark['events']:,} events in "
            f"{spark['seconds']:.1f} s, {rate(spark['rate'])} events/s, {spark['partitions']} partitions "
            f"(session start and a {WARMUP * 10:,}-event warm-up {spark['setup_seconds']:.1f} s, untimed); rows by status: {spark['by_status']}"
        )
    lines += ["", *goals(results, growth), "=" * 110]
    return lines


def goals(results: dict[str, Any], growth: float) -> list[str]:
    forward, reverse = results["realistic"]["caliper"], results["realistic"]["canvas"]
    one = floor_ratio(forward["translate"], forward["floor_in"])
    back = max(floor_ratio(reverse[key], reverse["floor_in"]) for key in ("translate", "stream"))
    naive_ratio = forward["stream"]["rate"] / forward["naive"]["rate"]
    lines = [
        "goals (issue 17; issue 7's naive ratio):",
        f"- Canvas -> Caliper, checked, one event at a time: {one:.1f}x the input floor   [<= {TARGETS['floor_ratio']:.0f}x: {verdict(one <= TARGETS['floor_ratio'])}]",
        f"- Caliper -> Canvas, checked (the slower of translate and stream): {back:.1f}x its input floor   "
        f"[<= {TARGETS['reverse_floor_ratio']:.0f}x: {verdict(back <= TARGETS['reverse_floor_ratio'])}]",
    ]
    two = next((run for run in results["cli"] if run["to"] == "caliper" and run["workers"] == 2), None)
    if two:
        projected = two["seconds"] * TARGETS["big_events"] / max(two["events"], 1)
        scaled = "" if two["events"] == TARGETS["big_events"] else f" (projected from {two['events']:,} events)"
        lines.append(
            f"- CLI, 2 workers, 1,000,000 realistic events: {projected:,.1f} s{scaled}   "
            f"[<= {TARGETS['big_seconds_2w']:.0f} s: {verdict(projected <= TARGETS['big_seconds_2w'])}]"
        )
    runs = results["cli"] + results["flat"]
    peak = max(max(run["maxrss_kb"], run.get("tree_peak_kb", 0)) for run in runs) / 1024
    lines.append(
        f"- CLI peak memory (largest process or sampled sum, any run): {peak:,.0f} MB, {growth:.2f}x for 4x the input   "
        f"[<= {TARGETS['rss_mb']:.0f} MB and flat (< {FLAT_GROWTH}x): {verdict(peak <= TARGETS['rss_mb'] and growth < FLAT_GROWTH)}]"
    )
    spark = results["spark"]
    if "skipped" in spark:
        lines.append(f"- Spark local[2]: not run ({spark['skipped']})")
    else:
        done = spark["events"] == results["spark_events"]
        lines.append(
            f"- Spark local[2] on {results['spark_events']:,} events: {'completed' if done else 'INCOMPLETE'}, "
            f"{rate(spark['rate'])} events/s   [{verdict(done)}]"
        )
    lines.append(f"- stream against plain jsonschema: {naive_ratio:,.1f}x faster   [>= {TARGETS['naive_ratio']:.0f}x: {verdict(naive_ratio >= TARGETS['naive_ratio'])}]")
    return lines


# -- main -------------------------------------------------------------------------------------


def positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a minute or two: " + ", ".join(f"--{k.replace('_', '-')} {v:,}" for k, v in QUICK.items()))
    parser.add_argument("--events", type=positive, help="realistic events for the in-process stages (default 100,000)")
    parser.add_argument("--uniform-events", type=positive, help="uniform-mix events for its line (default 20,000)")
    parser.add_argument("--big-events", type=positive, help="realistic events given to translator convert (default 1,000,000)")
    parser.add_argument("--spark-events", type=positive, help="events converted on Spark local[2] (default 200,000; at most --big-events)")
    parser.add_argument("--naive-sample", type=positive, help="events plain jsonschema is measured on (default 2,000; it is slow)")
    parser.add_argument("--flat-events", type=positive, help="N of the RSS flatness check, run on N and 4N events (default: --big-events / 4)")
    parser.add_argument("--workers", default="1,2", help="worker counts for translator convert (default 1,2)")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated corpora (default 7)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help=f"the shared reference corpus (default {DEFAULT_SHARED})")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where corpus files and results go (default bench/out)")
    parser.add_argument("--keep-output", action="store_true", help="keep the converted files translator convert writes")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=positive, help=argparse.SUPPRESS)
    parser.add_argument("--to", default="caliper", choices=("caliper", "canvas"), help=argparse.SUPPRESS)
    parser.add_argument("--pair", help=argparse.SUPPRESS)
    return parser


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def measure(label: str, name: str, path: Path, **options: Any) -> dict[str, Any]:
    say(f"{label} ...")
    result = run_stage(name, path, **options)
    if "rate" in result:
        memory = f", peak RSS {mb(result['maxrss_kb'])}" if name != "spark" else ""  # Spark's is the JVM's and workers'
        say(f"{label}: {rate(result['rate'])} events/s, {micros(result):.1f} us/event{memory}")
    return result


def in_rounds(label: str, path: Path, to: str = "caliper") -> dict[str, Any]:
    """The input floor, translate() and the stream, `ROUNDS` times in turn: each stage's median
    round, its per-event times in every round, and each stage's ratio to the floor (the median of
    the rounds' ratios, each a round's median pair, with every round's and, unpaired, the stage
    against the round's floor stage)."""
    names = {"floor_in": ("input floor", "floor"), "translate": ("translate()", "translate"), "stream": ("stream", "stream")}
    runs: dict[str, list[dict[str, Any]]] = {key: [] for key in names}
    for number in range(1, ROUNDS + 1):
        for key, (title, stage) in names.items():
            runs[key].append(measure(f"{label} {title} (round {number} of {ROUNDS})", stage, path, to=to))
    found: dict[str, Any] = {}
    for key, results in runs.items():
        ordered = sorted(results, key=lambda result: result["rate"])
        found[key] = {**ordered[len(ordered) // 2], "rounds_us": [round(micros(result), 2) for result in results]}
        if key != "floor_in":
            ratios = [_median(result["paired_ratios"]) for result in results]
            found[key]["floor_ratio"] = _median(ratios)
            found[key]["floor_ratios"] = [round(ratio, 2) for ratio in ratios]
            # The same stage against the round's own floor stage, run a minute apart: what drift does.
            found[key]["unpaired_ratios"] = [round(micros(result) / micros(floor), 2) for result, floor in zip(results, runs["floor_in"], strict=True)]
    return found


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def directions(prefix: str, canvas: Path, caliper: Path, full: bool, sample: int) -> dict[str, dict[str, Any]]:
    """The in-process stages of one corpus, both directions (the headline ones `in_rounds` for the realistic mix)."""
    headline = in_rounds if full else lambda label, path, to="caliper": {
        "floor_in": measure(f"{label} input floor", "floor", path, to=to),
        "translate": measure(f"{label} translate()", "translate", path, to=to),
        "stream": measure(f"{label} stream", "stream", path, to=to),
    }
    forward_main = headline(f"{prefix} Canvas -> Caliper", canvas)
    forward: dict[str, Any] = {
        "floor_in": forward_main["floor_in"],
        "floor_out": measure(f"{prefix} Canvas -> Caliper in+out floor", "floor", canvas, pair=caliper),
        "translate": forward_main["translate"],
        "stream": forward_main["stream"],
    }
    if full:
        forward["naive"] = measure(f"{prefix} plain jsonschema on {sample:,} events", "naive", canvas, limit=sample)
        forward["unchecked"] = measure(f"{prefix} conversion alone", "unchecked", canvas)
        forward["checks"] = measure(f"{prefix} checks alone", "checks", canvas, pair=caliper)
    reverse_main = headline(f"{prefix} Caliper -> Canvas", caliper, to="canvas")
    reverse = {
        "floor_in": reverse_main["floor_in"],
        "floor_out": measure(f"{prefix} Caliper -> Canvas in+out floor", "floor", caliper, to="canvas", pair=canvas),
        "translate": reverse_main["translate"],
        "stream": reverse_main["stream"],
    }
    return {"caliper": forward, "canvas": reverse}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.stage:
        run_stage_here(args.stage, args.input, args.limit, args.to, args.pair)
        return 0
    for key, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    workers = [positive(w) for w in args.workers.split(",") if w.strip()]
    flat_n = args.flat_events or max(args.big_events // 4, 1)
    spark_n = min(args.spark_events, args.big_events)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "environment": environment(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "arguments": {key: str(value) for key, value in vars(args).items() if value is not None and key not in ("stage", "input", "limit", "to", "pair")},
        "spark_events": spark_n,
        "corpora": {},
    }
    say(f"load average {results['environment']['load_average_at_start']:.1f} on {os.cpu_count()} CPUs (figures on a busy machine are only indicative)")

    templates = load_templates(args.shared)
    say(f"{sum(map(len, templates.values()))} documented examples of {len(templates)} event types "
        f"(skipping {', '.join(sorted(BROKEN_EXAMPLES))})")

    def corpus(name: str, path: Path, count: int, seed: int, mix: str) -> Path:
        made = write_corpus(path, count, templates, seed, mix)
        made["path"] = relative(path)
        results["corpora"][name] = made
        say(f"wrote {count:,} {mix} events ({made['bytes'] / 2**20:,.1f} MB) to {made['path']} in {made['seconds']:.1f} s")
        return path

    for mix, count, seed in (("realistic", args.events, args.seed), ("uniform", args.uniform_events, args.seed + 2)):
        canvas = corpus(mix, out / f"{mix}-{count}.jsonl", count, seed, mix)
        caliper = out / f"{mix}-{count}.caliper.jsonl"
        run_stage("prepare", canvas, pair=caliper)
        results[mix] = directions(mix, canvas, caliper, mix == "realistic", min(args.naive_sample, count))

    big = corpus("big", out / f"big-realistic-{args.big_events}.jsonl", args.big_events, args.seed + 1, "realistic")
    results["cli"] = []
    caliper_big: Path | None = None
    for to in ("caliper", "canvas"):
        source = big if to == "caliper" else caliper_big
        assert source is not None
        for count in workers:
            say(f"translator convert --to {to} --workers {count} on {args.big_events:,} events ...")
            keep = args.keep_output or (to == "caliper" and caliper_big is None)
            run = run_convert(source, count, out, keep, to)
            if to == "caliper" and caliper_big is None:
                caliper_big = Path(run["output"])  # the input of the other direction
            results["cli"].append(run)
            say(f"  {run['seconds']:.1f} s, {rate(run['rate'])} events/s, peak RSS {mb(run['maxrss_kb'])}, sum {mb(run['tree_peak_kb'])}")
    if caliper_big is not None and not args.keep_output:
        caliper_big.unlink(missing_ok=True)

    one_worker = next((run for run in results["cli"] if run["to"] == "caliper" and run["workers"] == 1), None)
    results["flat"] = []
    for count in (flat_n, 4 * flat_n):
        if count == args.big_events and one_worker is not None:
            results["flat"].append(one_worker)  # the --workers 1 run above
            continue
        path = out / f"big-realistic-{args.big_events}-head-{count}.jsonl"
        if count <= args.big_events:
            head(big, path, count)
        else:
            write_corpus(path, count, templates, args.seed + 1, "realistic")
        say(f"translator convert --workers 1 on {count:,} events (RSS flatness) ...")
        run = run_convert(path, 1, out, args.keep_output)
        path.unlink()
        results["flat"].append(run)
        say(f"  {run['seconds']:.1f} s, peak RSS {mb(run['maxrss_kb'])}")

    if args.no_spark:
        results["spark"] = {"skipped": "--no-spark"}
    else:
        path = out / f"spark-{spark_n}.jsonl"
        head(big, path, spark_n)
        results["spark"] = measure(f"Spark local[2] on {spark_n:,} events", "spark", path)
        path.unlink()
        if "skipped" in results["spark"]:
            say(f"Spark skipped: {results['spark']['skipped']}")

    results["load_average_at_end"] = os.getloadavg()[0]
    results["bench_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = report(results)
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
