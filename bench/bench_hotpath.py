#!/usr/bin/env python3
"""The one-event-at-a-time path on a realistic mix, against its floor (issue 17, items 2 to 4).

Not a test: it prints figures. A seeded mix of Canvas events (about 60 % asset_accessed, then
logins, submissions, grades, discussions, pages and enrollments), each with fresh ids, host and
event_time (the documentation examples re-rendered by bench.py's `Template`), is converted one
event at a time with `Translator.translate`, each around an orjson parse and serialisation:

- floor: orjson parse of the input and serialisation of the output at its real size;
- input floor: orjson parse and serialisation of the input alone (what the ratios divide by);
- Canvas -> Caliper, checked in and out (and with `full_output_check=True`, and unchecked);
- Caliper -> Canvas, checked in and out, from the Caliper outputs, against its own input floor
  (parse and serialisation of the Caliper input).

Times are CPU time of this process (`time.process_time`), best of `--rounds` passes: on a shared
machine that is steadier than wall time, but still only indicative.

Run from the repository root: `.venv/bin/python bench/bench_hotpath.py --events 20000`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import DEFAULT_SHARED, TIME_FROM, TIME_TO, load_templates, make_hosts  # noqa: E402

import translator  # noqa: E402

#: The realistic mix: event type -> weight (percent).
MIX = {
    "asset_accessed": 60, "logged_in": 10, "logged_out": 3, "submission_created": 6, "submission_updated": 3,
    "grade_change": 5, "discussion_entry_created": 4, "discussion_topic_created": 2, "wiki_page_updated": 3,
    "wiki_page_created": 1, "enrollment_created": 2, "enrollment_updated": 1,
}  # fmt: skip


def generate(count: int, seed: int, shared: Path) -> list[bytes]:
    rng = random.Random(seed)
    templates = load_templates(shared)
    hosts = make_hosts(rng)
    kinds, weights = list(MIX), list(MIX.values())
    lines = []
    for kind in rng.choices(kinds, weights, k=count):
        millis = rng.randrange(TIME_FROM * 1000, TIME_TO * 1000)
        seconds, ms = divmod(millis, 1000)
        event_time = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".%03dZ" % ms
        lines.append(rng.choice(templates[kind]).render(rng, event_time, rng.choice(hosts)).encode())
    return lines


def timed(lines: list[bytes], work: Callable[[bytes], bytes], rounds: int) -> float:
    """Best of `rounds` passes, in µs of CPU time per event (the machine may be shared)."""
    for line in lines[:200]:
        work(line)
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for line in lines:
            work(line)
        best = min(best, time.process_time() - started)
    return best / len(lines) * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--rounds", type=int, default=3, help="passes per figure; the best counts")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--dump", type=Path, help="write the Caliper outputs (JSON Lines) here, for a byte comparison")
    args = parser.parse_args(argv)

    lines = generate(args.events, args.seed, args.shared)
    checked = translator.Translator()
    paranoid = translator.Translator(full_output_check=True)
    loads, dumps = orjson.loads, orjson.dumps

    def send_time(payload: dict[str, Any]) -> str:
        return payload["metadata"]["event_time"]  # the mix's times are already in Caliper's form

    outputs = [dumps(checked.translate(p := loads(line), "caliper", send_time=send_time(p))) for line in lines]
    if args.dump:
        args.dump.write_bytes(b"".join(o + b"\n" for o in outputs))
    parsed = {line: loads(output) for line, output in zip(lines, outputs)}

    figures: dict[str, float] = {}
    figures["floor"] = timed(lines, lambda line: (loads(line), dumps(parsed[line]))[1], args.rounds)
    figures["input floor"] = timed(lines, lambda line: dumps(loads(line)), args.rounds)

    def forward(t: translator.Translator, validate: bool = True) -> Callable[[bytes], bytes]:
        return lambda line: dumps(t.translate(p := loads(line), "caliper", validate=validate, send_time=send_time(p)))

    figures["canvas -> caliper, checked"] = timed(lines, forward(checked), args.rounds)
    figures["canvas -> caliper, full_output_check"] = timed(lines, forward(paranoid), args.rounds)
    figures["canvas -> caliper, unchecked"] = timed(lines, forward(checked, False), args.rounds)
    reverse = {
        "caliper input floor": timed(outputs, lambda line: dumps(loads(line)), args.rounds),
        "caliper -> canvas, checked": timed(outputs, lambda line: dumps(checked.translate(loads(line), "canvas")), args.rounds),
    }

    print(f"{args.events} events, seed {args.seed}; best of {args.rounds} passes; µs of CPU per event (x input floor)")
    for table in (figures, reverse):
        floor = table["input floor" if "input floor" in table else "caliper input floor"]
        for name, micros in table.items():
            print(f"  {name:<40} {micros:7.2f}  ({micros / floor:5.1f}x)")
    plans = [checked.plan_of(loads(line)) for line in lines]
    proven = sum(plan is not None and plan.proof.proven for plan in plans)
    print(f"events whose type is proven (only computed leaves checked): {proven} of {len(plans)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
