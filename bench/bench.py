#!/usr/bin/env python3
"""Throughput and memory of Canvas -> Caliper conversion, measured side by side in one run.

Not a test: it prints figures (see bench/README.md). In one run it

1. builds a mixed corpus of Canvas live events from the documented examples (read from
   ``../shared`` at run time), each event with its own shard and local ids, host and event_time,
   and writes it as JSON Lines under ``bench/out/``;
2. measures, each in a fresh process reading the corpus file line by line:
   (a) the floor: orjson parse of each line + orjson serialisation of an output of the same size
       (the parsed input itself);
   (b) naive: the same parse and serialisation, plus plain ``jsonschema.Draft202012Validator``
       ``iter_errors`` of the input (one validator per Canvas event type) and of the already
       converted output (the Caliper canvas-profile envelope schema), without converting;
   (c) the project: ``translator.convert_stream`` over ``read_records(lazy=True)`` of the file (the
       project parses the lines itself, as the CLI does; input checked, converted, output checked),
       and the same serialisation;
   and, to show where (c)'s time goes, (c0) the conversion alone (``validate=False``) and (c1) the
   project's two checks alone, each around the same parse and serialisation; and (d) the other
   direction, the corpus's Caliper outputs converted back to Canvas;
3. runs ``translator convert`` on a big JSON Lines file with ``--workers 1`` and ``--workers 2``
   (wall time, peak RSS), and on a quarter of it, to see whether peak RSS stays flat;
4. prints one table and writes the figures to ``bench/out/results.json``.
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

SHARD = 10**13  # a Canvas global id is shard * 10**13 + local id
WARMUP = 200  # lines processed untimed first in each stage (lazy compilation, caches)
TIME_FROM = 1546300800  # 2019-01-01T00:00:00Z
TIME_TO = 1767225600  # 2026-01-01T00:00:00Z

TIME_SLOT = "@@EVENT_TIME@@"
# A global id: 14 to 20 digits, not part of a longer word or of a decimal number.
GLOBAL_ID = r"(?<![\w.])([0-9]{14,20})(?![\w.])"

FLAT_GROWTH = 1.2  # peak RSS for 4N events within this factor of that for N counts as flat
TARGETS = {"floor_ratio": 10.0, "naive_ratio": 10.0, "big_seconds_2w": 60.0, "big_events": 1_000_000, "rss_mb": 300.0}


# -- the corpus -----------------------------------------------------------------------------


class Template:
    """One documented example as a format string whose slots are its event_time, host and ids."""

    def __init__(self, label: str, payload: dict[str, Any]) -> None:
        self.label = label
        payload = json.loads(json.dumps(payload))
        metadata = payload["metadata"]
        metadata["event_time"] = TIME_SLOT
        self.host = metadata.get("hostname") or _guid_domain(metadata.get("root_account_lti_guid"))
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        alternatives = [GLOBAL_ID, "(" + re.escape(TIME_SLOT) + ")"]
        if self.host:
            alternatives.append("(" + re.escape(self.host) + ")")
        pattern = re.compile("|".join(alternatives))
        ids: dict[int, int] = {}  # global id -> index of its slot
        pieces: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            pieces.append(text[last : match.start()].replace("{", "{{").replace("}", "}}"))
            if match.group(1):
                index = ids.setdefault(int(match.group(1)), len(ids))
                pieces.append("{%d}" % (index + 2))
            elif match.group(2):
                pieces.append("{0}")
            else:
                pieces.append("{1}")
            last = match.end()
        pieces.append(text[last:].replace("{", "{{").replace("}", "}}"))
        self.format = "".join(pieces)
        self.ids = list(ids)  # original global ids, in slot order
        self.shards = sorted({gid // SHARD for gid in self.ids})
        self.shard_index = [self.shards.index(gid // SHARD) for gid in self.ids]
        self.locals = [gid % SHARD for gid in self.ids]

    def render(self, rng: random.Random, event_time: str, host: str) -> str:
        """The example with new ids (consistent within the event), `host` and `event_time`."""
        if len(self.shards) == 1:
            new_shards = [rng.randrange(1, 100_000)]
        else:
            new_shards = rng.sample(range(1, 100_000), len(self.shards))
        offset = rng.randrange(1, SHARD)
        values = [event_time, host]
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


def write_corpus(path: Path, count: int, templates: dict[str, list[Template]], seed: int) -> dict[str, Any]:
    """`count` events as JSON Lines: an event type drawn uniformly, then one of its examples."""
    rng = random.Random(seed)
    hosts = make_hosts(rng)
    kinds = sorted(templates)
    types: Counter[str] = Counter()
    started = time.perf_counter()
    size = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        for _ in range(count):
            kind = rng.choice(kinds)
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
    return {"events": count, "bytes": size, "types": len(types), "seconds": time.perf_counter() - started}


def head(source: Path, target: Path, count: int) -> None:
    with open(source, "rb") as lines, open(target, "wb") as out:
        out.writelines(itertools.islice(lines, count))


# -- stages, each run in a fresh process ------------------------------------------------------


def _lines(path: str, limit: int | None) -> Any:
    with open(path, "rb") as stream:
        yield from itertools.islice(stream, limit) if limit else stream


def stage_floor(path: str, limit: int | None) -> dict[str, Any]:
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
    for line in _lines(path, WARMUP):
        dumps(loads(line))
    count = 0
    started = time.perf_counter()
    for line in _lines(path, limit):
        dumps(loads(line))  # the output has the input's size: the input itself
        count += 1
    return {"events": count, "seconds": time.perf_counter() - started}


def stage_naive(path: str, limit: int | None) -> dict[str, Any]:
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

    # Converted beforehand, untimed: naive is only the checking, not the converting.
    converter = translator.Translator()
    started = time.perf_counter()
    sample = []
    for line in _lines(path, limit):
        payload = loads(line)
        sample.append((line, converter.translate(payload, "caliper", validate=False)))
    preconvert = time.perf_counter() - started

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
    return {"events": len(sample), "seconds": seconds, "preconvert_seconds": preconvert, "schema_errors": errors, "events_with_errors": invalid}


def stage_project(path: str, limit: int | None) -> dict[str, Any]:
    """(c): the project reads the file itself, as the CLI does (`read_records(lazy=True)`: blocks
    of lines, each parsed and converted phase by phase), and the outputs are serialised here."""
    import orjson

    import translator
    from translator.io.readers import read_records

    def run(file: Path) -> tuple[int, Counter[str]]:
        count, rejected = 0, Counter[str]()
        for result in translator.convert_stream(read_records([str(file)], lazy=True), "caliper", translator=converter):
            count += 1
            if result.output is not None:
                orjson.dumps(result.output)
            else:
                rejected[result.reason or "?"] += 1
        return count, rejected

    with tempfile.TemporaryDirectory() as scratch:
        warmup, source = Path(scratch) / "warmup.jsonl", Path(scratch) / "timed.jsonl"
        warmup.write_bytes(b"".join(_lines(path, WARMUP)))
        if limit:
            source.write_bytes(b"".join(_lines(path, limit)))
        started = time.perf_counter()
        converter = translator.Translator()
        run(warmup)
        setup = time.perf_counter() - started
        started = time.perf_counter()
        count, rejected = run(source if limit else Path(path))
        seconds = time.perf_counter() - started
    return {"events": count, "seconds": seconds, "setup_seconds": setup, "rejected": dict(rejected)}


def stage_reverse(path: str, limit: int | None) -> dict[str, Any]:
    """(d), a diagnostic: the other direction. The corpus is converted to Caliper first (untimed),
    then the project reads that file and converts it back to Canvas, checked in and out."""
    import orjson

    import translator
    from translator.io.readers import read_records

    converter = translator.Translator()

    def run(file: Path) -> int:
        count = 0
        for result in translator.convert_stream(read_records([str(file)], lazy=True), "canvas", translator=converter):
            if result.output is None:
                raise SystemExit(f"bench: {result.source} did not convert back: {result.reason}")
            orjson.dumps(result.output)
            count += 1
        return count

    with tempfile.TemporaryDirectory() as scratch:
        source, caliper, warmup = (Path(scratch) / name for name in ("canvas.jsonl", "caliper.jsonl", "warmup.jsonl"))
        source.write_bytes(b"".join(_lines(path, limit)))
        with open(caliper, "wb") as out:
            for block in translator.convert_blocks(read_records([str(source)], lazy=True), "caliper", translator=converter):
                out.write(block.encoded)
        warmup.write_bytes(b"".join(_lines(str(caliper), WARMUP)))
        run(warmup)
        started = time.perf_counter()
        count = run(caliper)
        return {"events": count, "seconds": time.perf_counter() - started}


def stage_unchecked(path: str, limit: int | None) -> dict[str, Any]:
    """(c0), a diagnostic: the conversion alone, through the public `validate=False`."""
    import orjson

    import translator

    loads, dumps = orjson.loads, orjson.dumps
    converter = translator.Translator()

    def convert(line: bytes) -> None:
        payload = loads(line)
        send_time = payload["metadata"]["event_time"]  # what convert_stream's send_time="event" gives
        dumps(converter.translate(payload, "caliper", validate=False, send_time=send_time))

    for line in _lines(path, WARMUP):
        convert(line)
    count = 0
    started = time.perf_counter()
    for line in _lines(path, limit):
        convert(line)
        count += 1
    return {"events": count, "seconds": time.perf_counter() - started}


def stage_checks(path: str, limit: int | None) -> dict[str, Any]:
    """(c1), a diagnostic: the project's two accept-path checks alone (`Translator.problems` of
    the input and of the output), around the same parse and serialisation. Outputs are converted
    beforehand, untimed, a thousand at a time so memory stays flat."""
    import orjson

    import translator

    loads, dumps = orjson.loads, orjson.dumps
    converter = translator.Translator()

    def check(lines: list[bytes]) -> tuple[int, float]:
        outputs = [converter.translate(loads(line), "caliper", validate=False) for line in lines]
        started = time.perf_counter()
        for line, output in zip(lines, outputs):
            payload = loads(line)
            if converter.problems(payload, "canvas") or converter.problems(output, "caliper"):
                raise SystemExit("bench: a check found problems in the generated corpus")
            dumps(output)
        return len(lines), time.perf_counter() - started

    check(list(_lines(path, WARMUP)))
    count, seconds = 0, 0.0
    lines = _lines(path, limit)
    while batch := list(itertools.islice(lines, 1000)):
        done, spent = check(batch)
        count, seconds = count + done, seconds + spent
    return {"events": count, "seconds": seconds}


STAGES = {
    "floor": stage_floor, "naive": stage_naive, "project": stage_project, "unchecked": stage_unchecked,
    "checks": stage_checks, "reverse": stage_reverse,
}  # fmt: skip


def run_stage_here(name: str, path: str, limit: int | None) -> None:
    """The child side: measure one stage, print one JSON line with its own peak RSS."""
    result = STAGES[name](path, limit)
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


def run_stage(name: str, path: Path, limit: int | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--stage", name, "--input", str(path)]
    if limit:
        command += ["--limit", str(limit)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"bench: stage {name} failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
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


def run_convert(source: Path, workers: int, out_dir: Path, keep: bool) -> dict[str, Any]:
    """`translator convert --to caliper` on `source`: wall time, peak RSS, records converted."""
    output = out_dir / f"{source.stem}.caliper-w{workers}.jsonl"
    rejects = out_dir / f"{source.stem}.rejects-w{workers}.jsonl"
    convert = [*translator_command(), "convert", "--to", "caliper", str(source), "-o", str(output), "--rejects", str(rejects), "--workers", str(workers)]
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


def environment() -> dict[str, Any]:
    import importlib.metadata as md

    versions = {}
    for name in ("canvas-caliper-translator", "orjson", "jsonschema", "jsonschema-rs", "referencing"):
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


def report(results: dict[str, Any]) -> list[str]:
    env, corpus = results["environment"], results["corpus"]
    floor, naive, project = results["floor"], results["naive"], results["project"]
    lines = [
        "",
        "=" * 100,
        f"Canvas -> Caliper benchmark  ({env['commit']}; Python {env['python']}, {env['cpus']} CPUs; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items())
        + ")",
        f"corpus: {corpus['events']:,} events of {corpus['types']} Canvas event types, "
        f"{corpus['bytes'] / corpus['events']:,.0f} bytes/event on average ({corpus['path']})",
        "",
    ]
    sampled = naive["events"] < project["events"]
    rows = [["stage (one process, streaming the corpus file)", "events", "seconds", "events/s", "peak RSS"]]
    rows.append(["(a) floor: orjson parse + serialise", f"{floor['events']:,}", f"{floor['seconds']:.2f}", rate(floor["rate"]), mb(floor["maxrss_kb"])])
    naive_label = "(b) naive: (a) + jsonschema in & out" + (" [sample]" if sampled else "")
    rows.append([naive_label, f"{naive['events']:,}", f"{naive['seconds']:.2f}", rate(naive["rate"]), mb(naive["maxrss_kb"])])
    rows.append(["(c) project: read + convert_stream, checked + serialise", f"{project['events']:,}", f"{project['seconds']:.2f}", rate(project["rate"]), mb(project["maxrss_kb"])])
    lines += table(rows, {1, 2, 3, 4})
    floor_ratio = floor["rate"] / project["rate"]
    naive_ratio = project["rate"] / naive["rate"]
    lines += [
        "",
        f"(c)/(a) = {floor_ratio:,.1f}x the floor's time per event   [target <= {TARGETS['floor_ratio']:.0f}x: {verdict(floor_ratio <= TARGETS['floor_ratio'])}]",
        f"(b)/(c) = {naive_ratio:,.2f}x faster than naive             [target >= {TARGETS['naive_ratio']:.0f}x: {verdict(naive_ratio >= TARGETS['naive_ratio'])}]",
    ]
    if sampled:
        lines.append(
            f"(b) was measured on a sample: the first {naive['events']:,} events of the corpus (events/s is what is compared)."
        )
    if naive.get("events_with_errors"):
        lines.append(
            f"note: plain jsonschema found {naive['schema_errors']:,} errors in {naive['events_with_errors']:,} of the "
            f"{naive['events']:,} sampled events (inputs or outputs); it does not know our warning keywords."
        )
    if project.get("rejected"):
        lines.append(f"WARNING: the project rejected events of the generated corpus: {project['rejected']}")
    lines.append(f"(c) setup (Translator() and {WARMUP} warm-up events, untimed): {project['setup_seconds']:.2f} s")
    lines += ["", *breakdown(results)]

    big = results["big"]
    lines += ["", f"translator convert --to caliper on {results['big_events']:,} events (subprocess; {results['big_path']}):"]
    rows = [["run", "events", "wall s", "events/s", "peak RSS (largest process)", f"peak sum of {big[0]['tree_kind']} (sampled)", "rejected"]]
    for run in big:
        rows.append([
            f"--workers {run['workers']}",
            f"{run['events']:,}",
            f"{run['seconds']:.1f}",
            rate(run["rate"]),
            mb(run["maxrss_kb"]),
            f"{mb(run['tree_peak_kb'])} ({run['tree_processes']} proc)",
            f"{run['rejected']:,}",
        ])
    lines += table(rows, {1, 2, 3, 4, 5, 6})
    lines.append(f"(peak RSS of the largest process by {big[0]['maxrss_by']}; the sampled sum covers the main process and its workers)")
    two = next((run for run in big if run["workers"] == 2), None)
    if two:
        projected = two["seconds"] * TARGETS["big_events"] / max(two["events"], 1)
        scaled = "" if two["events"] == TARGETS["big_events"] else f" (projected from {two['events']:,} events)"
        lines.append(
            f"1,000,000 events with 2 workers: {projected:,.1f} s{scaled}   [target <= {TARGETS['big_seconds_2w']:.0f} s: "
            f"{verdict(projected <= TARGETS['big_seconds_2w'])}]"
        )
    flat = results["flat"]
    small, large = flat
    growth = large["maxrss_kb"] / small["maxrss_kb"] if small["maxrss_kb"] else float("nan")
    runs = big + flat + [floor, naive, project]
    peak = max(max(run["maxrss_kb"], run.get("tree_peak_kb", 0)) for run in runs) / 1024
    reused = " (the --workers 1 run above)" if large is next((r for r in big if r["workers"] == 1), None) else ""
    lines += [
        "",
        f"RSS flatness (translator convert --workers 1, peak RSS): {small['events']:,} events: {mb(small['maxrss_kb'])};  "
        f"{large['events']:,} events{reused}: {mb(large['maxrss_kb'])}  "
        f"({growth:.2f}x for {large['events'] / small['events']:.0f}x the input)",
        f"highest peak memory of any run above (largest process or sampled sum): {peak:,.0f} MB   "
        f"[target <= {TARGETS['rss_mb']:.0f} MB, and flat (< {FLAT_GROWTH}x): "
        f"{verdict(peak <= TARGETS['rss_mb'] and growth < FLAT_GROWTH)}]",
        "=" * 100,
    ]
    return lines


def breakdown(results: dict[str, Any]) -> list[str]:
    """Where (c)'s time per event goes: the conversion and the checks, each measured alone."""
    floor, naive, project = results["floor"], results["naive"], results["project"]
    unchecked, checks, reverse = results["unchecked"], results["checks"], results["reverse"]

    def micros(stage: dict[str, Any]) -> float:
        return 1e6 / stage["rate"]

    rows = [["where (c)'s time goes (diagnostics, not targets)", "events", "events/s", "us/event", "x floor"]]
    for label, stage in (
        ("(a) floor", floor),
        ("(c0) conversion alone: (a) + translate(validate=False)", unchecked),
        ("(c1) checks alone: (a) + Translator.problems in & out", checks),
        ("(c) project", project),
    ):
        rows.append([label, f"{stage['events']:,}", rate(stage["rate"]), f"{micros(stage):.1f}", f"{floor['rate'] / stage['rate']:.1f}"])
    rest = micros(project) - micros(unchecked) - micros(checks) + micros(floor)
    checking = micros(checks) - micros(floor)
    return [
        *table(rows, {1, 2, 3, 4}),
        f"per event: the two checks {checking:.1f} us ({checking / micros(floor):.1f}x the floor), the conversion "
        f"{micros(unchecked) - micros(floor):.1f} us, and the rest of (c) {rest:.1f} us (reading the file, the batch's "
        "bookkeeping, and doing both in one pass, where the CPU caches hold less of each)",
        f"(b)/(c1) = {checks['rate'] / naive['rate']:,.0f}x: the project's checks against plain jsonschema on the same inputs and outputs",
        "",
        f"(d) the other direction, Caliper -> Canvas (the corpus's Caliper outputs read back, checked in and out): "
        f"{rate(reverse['rate'])} events/s, {1e6 / reverse['rate']:.1f} us/event ({floor['rate'] / reverse['rate']:.1f}x the floor)",
    ]


# -- main -------------------------------------------------------------------------------------


def positive(text: str) -> int:
    value = int(text.replace("_", "").replace(",", ""))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=positive, default=100_000, help="events in the corpus for (a), (b), (c) (default 100,000)")
    parser.add_argument("--big-events", type=positive, default=1_000_000, help="events in the file given to translator convert (default 1,000,000)")
    parser.add_argument("--flat-events", type=positive, help="N of the RSS flatness check, run on N and 4N events (default: --big-events / 4)")
    parser.add_argument("--naive-sample", type=positive, default=2_000, help="events (b) is measured on (default 2,000; it is slow)")
    parser.add_argument("--workers", default="1,2", help="worker counts for translator convert (default 1,2)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated corpus (default 7)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help=f"the shared reference corpus (default {DEFAULT_SHARED})")
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where corpus files and results go (default bench/out)")
    parser.add_argument("--keep-output", action="store_true", help="keep the converted files translator convert writes")
    parser.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=positive, help=argparse.SUPPRESS)
    return parser


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.stage:
        run_stage_here(args.stage, args.input, args.limit)
        return 0
    workers = [positive(w) for w in args.workers.split(",") if w.strip()]
    flat_n = args.flat_events or max(args.big_events // 4, 1)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"environment": environment(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    templates = load_templates(args.shared)
    say(f"{sum(map(len, templates.values()))} documented examples of {len(templates)} event types "
        f"(skipping {', '.join(sorted(BROKEN_EXAMPLES))})")

    corpus_path = out / f"corpus-{args.events}.jsonl"
    corpus = write_corpus(corpus_path, args.events, templates, args.seed)
    corpus["path"] = str(corpus_path.relative_to(REPO) if corpus_path.is_relative_to(REPO) else corpus_path)
    results["corpus"] = corpus
    say(f"wrote {args.events:,} events ({corpus['bytes'] / 2**20:,.1f} MB) to {corpus['path']} in {corpus['seconds']:.1f} s")

    say("(a) floor ...")
    results["floor"] = run_stage("floor", corpus_path, None)
    say(f"(a) floor: {rate(results['floor']['rate'])} events/s")
    sample = min(args.naive_sample, args.events)
    say(f"(b) naive on {sample:,} events ...")
    results["naive"] = run_stage("naive", corpus_path, sample)
    say(f"(b) naive: {rate(results['naive']['rate'])} events/s")
    say(f"(c) project on {args.events:,} events ...")
    results["project"] = run_stage("project", corpus_path, None)
    say(f"(c) project: {rate(results['project']['rate'])} events/s")
    for key, label in (("unchecked", "(c0) conversion alone"), ("checks", "(c1) checks alone"), ("reverse", "(d) Caliper -> Canvas")):
        say(f"{label} on {args.events:,} events ...")
        results[key] = run_stage(key, corpus_path, None)
        say(f"{label}: {rate(results[key]['rate'])} events/s")

    big_path = out / f"big-{args.big_events}.jsonl"
    big = write_corpus(big_path, args.big_events, templates, args.seed + 1)
    results["big_events"] = args.big_events
    results["big_path"] = str(big_path.relative_to(REPO) if big_path.is_relative_to(REPO) else big_path)
    say(f"wrote {args.big_events:,} events ({big['bytes'] / 2**20:,.1f} MB) to {results['big_path']} in {big['seconds']:.1f} s")
    results["big"] = []
    for count in workers:
        say(f"translator convert --workers {count} on {args.big_events:,} events ...")
        run = run_convert(big_path, count, out, args.keep_output)
        results["big"].append(run)
        say(f"  {run['seconds']:.1f} s, {rate(run['rate'])} events/s, peak RSS {mb(run['maxrss_kb'])}")

    results["flat"] = []
    one_worker = next((run for run in results["big"] if run["workers"] == 1), None)
    for count in (flat_n, 4 * flat_n):
        if count == args.big_events and one_worker is not None:
            results["flat"].append(one_worker)  # the --workers 1 run above
            continue
        path = out / f"big-{args.big_events}-head-{count}.jsonl"
        if count <= args.big_events:
            head(big_path, path, count)
        else:
            write_corpus(path, count, templates, args.seed + 1)
        say(f"translator convert --workers 1 on {count:,} events (RSS flatness) ...")
        run = run_convert(path, 1, out, args.keep_output)
        path.unlink()
        results["flat"].append(run)
        say(f"  {run['seconds']:.1f} s, peak RSS {mb(run['maxrss_kb'])}")

    results["bench_maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lines = report(results)
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
