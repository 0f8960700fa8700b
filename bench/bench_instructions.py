#!/usr/bin/env python3
"""Instructions per event, counted by valgrind: the figure that does not drift.

The machine this project is measured on changes speed by a quarter between minutes, so two
timings minutes apart cannot tell a 3% change from noise (see bench/README.md). The number of
instructions a process executes does not drift: valgrind's callgrind counts them, and a per-event
figure repeats within about 1% (object addresses still vary between runs). Each stage runs twice under callgrind, on the first N and the first 3N events
of a realistic-mix file (after the same warm-up), and the difference over 2N is the instructions
one event costs, set-up cancelled out (both runs work out their mappings' proofs themselves: the
proof cache, shared between processes, is off). Instructions are not time (orjson retires several per
cycle, the interpreter fewer), so the ratios here are not issue 17's; they are what an A/B of
one change should compare.

Not a test: it prints figures. It needs valgrind (``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench  # noqa: E402 - the corpus and the stages are the main benchmark's

STAGES = ("floor", "translate", "stream")
_COLLECTED = re.compile(r"Collected : (\d+)")


def stage_floor(path: str, limit: int | None, to: str, pair: str | None) -> dict[str, Any]:
    """One pass of orjson parse and serialisation of the input, reading included (as the other stages read)."""
    import orjson

    count = 0
    for line in bench._lines(path, limit):
        orjson.dumps(orjson.loads(line))
        count += 1
    return {"events": count}


# translate and the stream without the main benchmark's paired floors, which would count here
RUNNERS = {"floor": stage_floor, "translate": partial(bench.stage_translate, paired=False), "stream": partial(bench.stage_stream, paired=False)}


def instructions(stage: str, path: Path, limit: int, to: str) -> int:
    """What one process running `stage` on the first `limit` events of `path` executes."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
               sys.executable, str(Path(__file__).resolve()), "--stage", stage, "--input", str(path), "--limit", str(limit), "--to", to]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=bench.REPO, env={**os.environ, "PYTHONHASHSEED": "0", "CANVAS_CALIPER_CACHE": ""})
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"bench_instructions: stage {stage} under valgrind failed (exit {done.returncode})")
    return int(found.group(1))


def per_event(stage: str, path: Path, events: int, to: str) -> float:
    """(instructions on 3N events - on N) / 2N, the two runs side by side."""
    with ThreadPoolExecutor(2) as pool:
        small, large = pool.map(lambda n: instructions(stage, path, n, to), (events, 3 * events))
    return (large - small) / (2 * events)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=bench.positive, default=1_000, help="N: the stages run on N and 3N events (default 1,000)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated corpus (default 7, as bench.py)")
    parser.add_argument("--shared", type=Path, default=bench.DEFAULT_SHARED, help="the shared reference corpus")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=bench.positive, help=argparse.SUPPRESS)
    parser.add_argument("--to", default="caliper", choices=("caliper", "canvas"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.stage:
        RUNNERS[args.stage](args.input, args.limit, args.to, None)
        return 0
    if shutil.which("valgrind") is None:
        raise SystemExit("bench_instructions: valgrind is not installed (apt install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        canvas, caliper = Path(scratch) / "realistic.jsonl", Path(scratch) / "realistic.caliper.jsonl"
        bench.write_corpus(canvas, 3 * args.events, bench.load_templates(args.shared), args.seed, "realistic")
        bench.run_stage("prepare", canvas, pair=caliper)
        print(f"instructions per event, realistic mix (valgrind callgrind; {3 * args.events:,} minus {args.events:,} events, over {2 * args.events:,})")
        for label, path, to in (("Canvas -> Caliper", canvas, "caliper"), ("Caliper -> Canvas", caliper, "canvas")):
            counts = {stage: per_event(stage, path, args.events, to) for stage in STAGES}
            figures = ", ".join(f"{stage} {counts[stage]:,.0f} ({counts[stage] / counts['floor']:.1f}x)" for stage in STAGES)
            print(f"  {label}: {figures}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
