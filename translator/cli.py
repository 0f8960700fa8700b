"""The `translator` command line.

`main()` is the console script; `run(argv, stdin, stdout, stderr)` does the work and returns the
exit code, so tests need no subprocess. Each subcommand is one function that adds its parser and
points `run` at its handler; adding a command is adding such a function to `COMMANDS`.

Exit codes: 0 all good, 1 some records do not conform or were rejected, 2 the run failed (usage,
I/O or mapping errors, or a bug: one line says so, the traceback only with `--debug`), 130/143 a
`convert`, `validate` or `drift` stopped by SIGINT/SIGTERM (see `interrupt`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from .batch import Converter, Report, event_type
from .batch.units import until
from .batch.report import EXIT_FAILED, EXIT_OK
from .drift import Drift
from .engine import Translator
from .errors import Problem, TranslatorError
from .ids import caliper_time
from .interrupt import Interruption, cancellable_stdin
from .io.jws import CANVAS_ISSUER, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwksVerifier
from .io.readers import SUFFIXES, input_files, read_records
from .io.unwrap import Item, unwrap
from .io.writers import JsonWriter, RejectsWriter
from .options import ConvertOptions
from .validation import check, detected_format

EXIT_USAGE = 2


@dataclass(frozen=True)
class Streams:
    stdin: IO[Any]
    stdout: IO[str]
    stderr: IO[str]


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2)."""


def main(argv: list[str] | None = None) -> int:
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdin, sys.stdout, sys.stderr)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader of our output went away (`| head`): stop quietly, as other tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def run(argv: list[str], stdin: IO[Any], stdout: IO[str], stderr: IO[str]) -> int:
    parser = build_parser()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        try:
            args = parser.parse_args(_debug_first(argv))
        except SystemExit as exc:  # --help, --version, or a usage error already printed
            return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return args.run(args, Streams(stdin, stdout, stderr))
    except BrokenPipeError:
        raise  # not an I/O error of ours: whoever read our output stopped (see main)
    except (UsageError, OSError, TranslatorError) as exc:
        if args.debug:
            raise
        print(f"translator {args.command}: error: {exc}", file=stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug: said in one line; the traceback is for --debug
        if args.debug:
            raise
        print(f"translator {args.command}: internal error: {type(exc).__name__}: {exc} (--debug shows the traceback)", file=stderr)
        return EXIT_USAGE


def _debug_first(argv: list[str]) -> list[str]:
    """`--debug` is the main parser's, yet accepted after the command too (before any `--`)."""
    end = argv.index("--") if "--" in argv else len(argv)
    if "--debug" not in argv[:end]:
        return argv
    return ["--debug", *(arg for arg in argv[:end] if arg != "--debug"), *argv[end:]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="translator",
        description="Convert Canvas LMS live events between Canvas format and IMS Caliper 1.1, "
        "and check both against their JSON Schemas.",
        epilog="exit status: 0 all records conform / converted, 1 some do not, 2 the run failed (usage, I/O "
        "or mapping error, or a bug), 130/143 convert, validate or drift stopped by SIGINT/SIGTERM (output closed, "
        "summary printed)",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the Python traceback of an error (also after COMMAND)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add_command in COMMANDS:
        add_command(commands)
    return parser


def _version() -> str:
    try:
        return metadata.version("canvas-caliper-translator")
    except metadata.PackageNotFoundError:
        return "unknown"


# -- shared options -------------------------------------------------------------------------

LOOKED_FOR = ", ".join(f"*{suffix}" for suffix in SUFFIXES) + " (each also .gz)"
INPUTS_HELP = (
    f"files, directories (read recursively: {LOOKED_FOR}), glob patterns (quoted; ** recurses) "
    "or - for stdin; JSON, JSON arrays, JSON Lines, concatenated JSON or compact JWS lines. SQS "
    "messages, Lambda SQS/Kinesis batches, raw Kinesis records, signed payloads and multi-event "
    "Caliper envelopes are unwrapped. A PATH that yields no record (an empty file, a directory or "
    "pattern with no event file) is a usage error."
)


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jwks", metavar="FILE", help="JWKS to verify signed payloads (compact JWS, RS256) against")
    parser.add_argument(
        "--jwt-leeway",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_LEEWAY,
        help=f"clock leeway for exp/nbf of signed payloads (default {DEFAULT_LEEWAY:g})",
    )
    _add_jwt_checks(parser)
    parser.add_argument("paths", nargs="+", metavar="PATH", help=INPUTS_HELP)


def _add_jwt_checks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--jwt-issuer",
        action="append",
        metavar="ISS",
        help=f"an allowed iss of signed payloads (repeatable; default {CANVAS_ISSUER}; * allows any)",
    )
    parser.add_argument(
        "--jwt-max-bytes",
        type=int,
        default=DEFAULT_MAX_TOKEN_BYTES,
        metavar="N",
        help=f"refuse signed payloads longer than this (default {DEFAULT_MAX_TOKEN_BYTES})",
    )


def _jwt_issuers(args: argparse.Namespace) -> tuple[str, ...] | None:
    """The --jwt-issuer allow-list: Canvas's issuer unless given, None (any) for *."""
    issuers = args.jwt_issuer or [CANVAS_ISSUER]
    return None if "*" in issuers else tuple(issuers)


def _add_mappings_option(parser: argparse.ArgumentParser, default: Any = None) -> None:
    parser.add_argument(
        "--mappings", action="append", default=[] if default is None else default, metavar="DIR",
        help="a directory of extra mappings, loaded after the shipped ones (repeatable; default: none)",
    )  # fmt: skip


def _check_mapping_dirs(args: argparse.Namespace) -> None:
    for directory in args.mappings:
        if not Path(directory).is_dir():
            raise UsageError(f"--mappings {directory}: not a directory")


def _check_inputs(args: argparse.Namespace, skip: list[str] | None = None) -> None:
    """Every PATH exists and yields a record, a pattern's matches in its place (a usage error
    names what was looked for); `skip` are files the run writes, never read."""
    if args.paths.count("-") > 1:
        raise UsageError("stdin (-) can be read only once")
    missing = [path for path in args.paths if path != "-" and not Path(path).exists() and not glob.has_magic(path)]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    paths = []
    for path in args.paths:
        found = [path] if path == "-" or Path(path).exists() else sorted(glob.glob(path, recursive=True))
        if not found:
            raise UsageError(f"{path}: no file matches this pattern")
        for each in found:  # a pipe (`<(zcat ...)`) is not read ahead: what is read of it is gone
            peekable = Path(each).is_file() or Path(each).is_dir()
            if peekable and next(read_records([each], skip=skip or ()), None) is None:
                raise UsageError(f"{each}: {_nothing_in(each)}")
        paths += found
    args.paths = paths


def _nothing_in(path: str) -> str:
    """Why `path` yields no record, saying what was looked for."""
    if not Path(path).is_dir():
        return "no record in this file (it is empty, blank or an empty JSON array)"
    files = input_files(path)
    if not files:
        return f"no event file in this directory (looked for {LOOKED_FOR} below it, hidden entries skipped)"
    return f"no record in the {len(files)} event file{'s' * (len(files) != 1)} below this directory (all empty or blank)"


def _add_strict_option(parser: argparse.ArgumentParser, default: Any = False) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        default=default,
        help="treat Canvas event types and fields no schema knows (unknown-event, unknown-field) as errors, "
        "not warnings (default: warnings; such events still convert)",
    )


def _verifier(args: argparse.Namespace) -> JwksVerifier | None:
    if not args.jwks:
        return None
    return JwksVerifier.from_file(args.jwks, leeway=args.jwt_leeway, issuers=_jwt_issuers(args), max_bytes=args.jwt_max_bytes)


# -- validate -------------------------------------------------------------------------------


def _validate_command(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check events against the Canvas or Caliper schemas",
        description="Check every event against its JSON Schema; print one line per problem "
        "(source, event, JSON path, severity, message, rule), then a summary. Warnings do not fail.",
    )
    parser.add_argument(
        "--format", choices=("canvas", "caliper"), help="the events' format (default: detected per event)"
    )
    parser.add_argument("--profile", choices=("ims", "canvas"), help="Caliper profile (default: decided per event)")
    parser.add_argument("--json", action="store_true", help="print problems as JSON Lines (summary on stderr)")
    _add_strict_option(parser)
    _add_mappings_option(parser)
    _add_inputs(parser)
    parser.set_defaults(run=_validate)


def _validate(args: argparse.Namespace, streams: Streams) -> int:
    if args.format == "canvas" and args.profile:
        raise UsageError(f"--profile {args.profile} is a Caliper profile: it cannot apply with --format canvas")
    _check_inputs(args)
    _check_mapping_dirs(args)
    translator = Translator(args.mappings, strict=args.strict)
    report = Report(command="validate", drift=Drift(translator.custom_events))
    with Interruption() as interruption:
        _validate_until(args, streams, translator, report, interruption)
    for line in report.lines():
        print(line, file=streams.stderr if args.json else streams.stdout)
    return _interrupted(interruption, "validate", streams) or report.exit_code


def _validate_until(args: argparse.Namespace, streams: Streams, translator: Translator, report: Report, interruption: Interruption) -> None:
    for source, item, problems in _checked_items(args, streams, args.profile, translator, report.drift, interruption):
        shown = _as_read(problems, item.data_index)
        name = event_type(item.payload)
        report.add_checked(problems, shown, name)
        for problem in shown:
            if args.json:
                line = json.dumps({"source": source, "event_name": name, **problem.as_dict()}, ensure_ascii=False)
            else:
                where = f"{source}: {name or '-'}: {problem.path or '/'}"
                line = f"{where}: {problem.severity}: {problem.message} [{problem.rule}]"
            print(line, file=streams.stdout)


def _interrupted(interruption: Interruption, command: str, streams: Streams, kept: str = "the summary counts every record read") -> int | None:
    """The exit code of a run a signal stopped (128 + the signal), after saying so; None otherwise."""
    if interruption.exit_code is None:
        return None
    print(f"translator {command}: interrupted by {interruption.name}: stopped reading; {kept}", file=streams.stderr)
    return interruption.exit_code


def _items(paths: list[str], stdin: IO[Any], verifier: JwksVerifier | None, cancel: threading.Event) -> Iterator[tuple[str, Item]]:
    for record in until(read_records(paths, cancellable_stdin(stdin, cancel)), cancel):
        if record.problem is not None:
            yield record.source, Item("", None, record.text, record.problem)
            continue
        for item in unwrap(record.payload, verifier):
            yield record.source + item.suffix, item


def _checked_items(
    args: argparse.Namespace, streams: Streams, profile: str | None, translator: Translator, drift: Drift, interruption: Interruption
) -> Iterator[tuple[str, Item, list[Problem]]]:
    """Every record read, with its problems as `convert` checks it; its Canvas event goes into `drift`.
    Once `interruption` is signalled, no more is read (the record in hand is still checked)."""
    for source, item in _items(args.paths, streams.stdin, _verifier(args), interruption.event):
        format, problems = _checked(item, args.format, profile, translator)
        drift.add_record(translator, item.payload, format, problems, source)
        yield source, item, problems


def _as_read(problems: list[Problem], data_index: int | None) -> list[Problem]:
    """The problems of an event taken out of a multi-event Envelope, with paths into the Envelope as
    read (``/data/<i>``, not the ``/data/0`` of its one-event Envelope); the Envelope's own problems
    (its `sensor`, ...) are said once, with its first event."""
    if data_index is None:
        return problems
    shown = []
    for problem in problems:
        if problem.path == "/data/0" or problem.path.startswith("/data/0/"):
            shown.append(replace(problem, path=f"/data/{data_index}{problem.path[len('/data/0'):]}"))
        elif data_index == 0:
            shown.append(problem)
    return shown


def _checked(item: Item, format: str | None, profile: str | None, translator: Translator) -> tuple[str | None, list[Problem]]:
    """The format a record was checked as (None when it could not be), and the problems found:
    the check `convert` makes, in full, so the two agree on every record."""
    if item.problem is not None:
        return None, [item.problem]
    payload = item.payload
    if format is None:
        format, problem = detected_format(payload)
        if problem is not None:
            return None, [problem]
    problems = check(
        payload,
        format,
        profile=profile if format == "caliper" else None,
        custom_events=translator.custom_events,
        strict=translator.strict,
        catalog=translator.catalog,
    )
    return format, problems


# -- convert --------------------------------------------------------------------------------


def _convert_command(commands: Any) -> None:
    parser = commands.add_parser(
        "convert",
        help="convert events to Caliper or to Canvas format",
        description="Convert every event; converted events go to OUT (stdout by default), rejected "
        "records to the rejects file with their reason and problems. Nothing is lost: records read "
        "= converted + rejected. A summary goes to stderr.",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="where converted events go: JSON Lines, a JSON array if OUT ends in .json, gzip if it ends "
        "in .gz (default: stdout)",
    )
    parser.add_argument(
        "--rejects",
        metavar="FILE",
        help="JSON Lines of rejected records: source, reason, problems, original text "
        "(default: one line per reject on stderr)",
    )
    parser.add_argument(
        "--workers", type=_workers, default=1, metavar="N", help="processes to convert on (0: one per CPU; default 1)"
    )
    _add_conversion_options(parser)
    _add_inputs(parser)
    parser.set_defaults(run=_convert)


def _add_conversion_options(parser: argparse.ArgumentParser, *, live: bool = False) -> None:
    """The options of a conversion (`ConvertOptions`) as flags, shared by convert, serve and consume.
    For serve and consume (`live`), a flag not given leaves the config file's value (or the default)."""
    default = ConvertOptions()
    given: Callable[[Any], Any] = (lambda value: argparse.SUPPRESS) if live else (lambda value: value)
    if live:
        parser.add_argument("--to", choices=("caliper", "canvas"), default=argparse.SUPPRESS, help=f"the format to convert to (default {default.to})")
    else:
        parser.add_argument("--to", required=True, choices=("caliper", "canvas"), help="the format to convert to")
    _add_mappings_option(parser, given([]))
    parser.add_argument(
        "--ids",
        choices=("canvas", "global", "local"),
        default=given(default.ids),
        help="Canvas id form when converting to Canvas: each field's documented form (canvas), all global or all local "
        f"(default {default.ids})",
    )
    parser.add_argument(
        "--no-generic",
        dest="generic",
        action="store_false",
        default=given(default.generic),
        help="reject Canvas event types without a mapping instead of using the generic form (default: the generic form)",
    )
    parser.add_argument(
        "--send-time",
        type=_send_time,
        default=given(default.send_time),
        metavar="WHEN",
        help="sendTime of Caliper envelopes: event (the Canvas event_time, so the same input gives the same "
        f"bytes, as translate() does), now, or a timestamp (default {default.send_time})",
    )
    parser.add_argument(
        "--paranoid",
        action="store_true",
        default=given(default.full_output_check),
        help="check every whole output, even of event types whose mapping is proven to give conforming "
        "output (same verdicts, slower; default: proven types check only their computed fields)",
    )
    parser.add_argument(
        "--mapping-budget",
        type=_seconds,
        default=given(default.mapping_budget),
        metavar="SECONDS",
        help="the time an event's mapping expressions may run; past it the record is rejected with reason "
        f"mapping-timeout (0: no limit; default {default.mapping_budget:g})",
    )
    _add_strict_option(parser, given(default.strict))
    parser.add_argument(
        "--canvas-host",
        metavar="HOST",
        default=given(default.canvas_host),
        help="the Canvas host of system-generated events that name none (no hostname, no domain in "
        "root_account_lti_guid; default: none, they are named urn:instructure:canvas:account:<root account>)",
    )


def _convert_options(args: argparse.Namespace) -> ConvertOptions:
    """`convert`'s options, from its flags: the one place they are read."""
    flags = {**vars(args), "leeway": args.jwt_leeway, "issuers": _jwt_issuers(args), "max_token_bytes": args.jwt_max_bytes}
    return ConvertOptions.among(flags)


def _workers(text: str) -> int:
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(f"expected a number of processes (0 or more), not {text!r}")
    return count


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), not {text!r}")
    return seconds


def _send_time(text: str) -> str:
    if text in ("event", "now"):
        return text
    try:
        return caliper_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected event, now or a timestamp, not {text!r}") from None


def _convert(args: argparse.Namespace, streams: Streams) -> int:
    written = [path for path in (args.output, args.rejects) if path and path != "-"]
    _check_inputs(args, written)
    _check_mapping_dirs(args)
    with Interruption() as interruption:
        return _convert_until(args, streams, written, interruption)


def _convert_until(args: argparse.Namespace, streams: Streams, written: list[str], interruption: Interruption) -> int:
    """The conversion, stopping cleanly when `interruption` says so (see `translator.interrupt`)."""
    # JSON Lines are read in blocks of lines, decoded and parsed where they are converted: with
    # several workers the main process then only moves bytes, which is what lets more processes
    # go faster. Stdin on one process is read record by record: a slow pipe's records convert as
    # they come, not once a block has filled.
    lazy = args.workers != 1 or "-" not in args.paths
    records = read_records(args.paths, cancellable_stdin(streams.stdin, interruption.event), skip=written, lazy=lazy)
    converter = Converter(_convert_options(args), workers=args.workers)
    blocks = converter.blocks(records, cancel=interruption.event)
    report = Report()
    progress = _Progress(streams.stderr)
    output = JsonWriter(args.output, streams.stdout)
    try:
        with output, _rejects_to(args.rejects, streams.stdout, streams.stderr) as rejects:
            for block in report.track(blocks):
                output.write_lines(block.encoded, block.converted.total())
                for result in block.rejects:
                    rejects.write(result.source, result.reason or "?", result.problems, result.text)
                progress.show(report)
                if interruption.event.is_set():
                    break
            blocks.close()  # several workers: stopped before the outputs close
    except BaseException:
        progress.clear()
        if report.read:  # say how far it got before failing
            _summarize(report, streams.stderr)
        raise
    progress.clear()
    report.not_carried = converter.not_carried(report.converted_types)
    _summarize(report, streams.stderr)
    return _interrupted(interruption, "convert", streams, "every record counted above is in the output or the rejects") or report.exit_code


def _summarize(report: Report, stderr: IO[str]) -> None:
    for line in report.lines():
        print(f"translator convert: {line}", file=stderr)


def _rejects_to(path: str | None, stdout: IO[str], stderr: IO[str]) -> RejectsWriter | _RejectLog:
    return RejectsWriter(path, stdout) if path else _RejectLog(stderr)


class _RejectLog:
    """Without --rejects, each reject is still said, on one line of stderr."""

    def __init__(self, stderr: IO[str]) -> None:
        self.stderr = stderr

    def write(self, source: str, reason: str, problems: list[Problem], text: str | None) -> None:
        first = next((p for p in problems if p.is_error), problems[0] if problems else None)
        detail = f": {first}" if first else ""
        print(f"translator convert: rejected {source}: {reason}{detail}", file=self.stderr)

    def __enter__(self) -> _RejectLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None


class _Progress:
    """A one-line counter on a terminal, after the first second; nothing when stderr is a pipe."""

    def __init__(self, stderr: IO[str], every: float = 0.2, after: float = 1.0) -> None:
        self.stderr = stderr
        self.enabled = _isatty(stderr)
        self.every = every
        self.next = time.monotonic() + after
        self.shown = False

    def show(self, report: Report) -> None:
        if not self.enabled or time.monotonic() < self.next:
            return
        self.next = time.monotonic() + self.every
        counts = f"{report.read:,} read, {report.converted:,} converted, {report.rejected_total:,} rejected"
        self.stderr.write(f"\r\x1b[K{counts}, {report.rate:,.0f} events/s")
        self.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()


def _isatty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _mappings_command(commands: Any) -> None:
    parser = commands.add_parser(
        "mappings",
        help="list the Canvas event types and their Caliper form",
        description="One line per Canvas event type: its Caliper type and action, and whether the "
        "mapping is documented by Canvas, our generic lossless form, or a custom (user) mapping.",
    )
    parser.add_argument("--lossy", action="store_true", help="also list the Canvas fields each Caliper form does not carry")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    form.add_argument("--markdown", action="store_true", help="print the lossy-fields table of docs/lossy-fields.md")
    _add_mappings_option(parser)
    parser.add_argument("--no-generic", action="store_true", help="show types without a mapping as unsupported")
    parser.set_defaults(run=_mappings)


def _mappings(args: argparse.Namespace, streams: Streams) -> int:
    from .mapping.report import lossy_markdown, mapping_rows

    _check_mapping_dirs(args)
    rows = mapping_rows(Translator(args.mappings).catalog, generic=not args.no_generic)
    out = streams.stdout
    if args.markdown:
        out.write(lossy_markdown(rows))
        return EXIT_OK
    if args.json:
        for row in rows:
            record: dict[str, Any] = {"event_type": row.event_type, "caliper_type": row.caliper_type, "action": row.action, "origin": row.origin}
            if args.lossy:
                record["lossy"] = list(row.lossy)
            out.write(json.dumps(record) + "\n")
        return EXIT_OK
    width = max(len(row.event_type) for row in rows)
    for row in rows:
        out.write(f"{row.event_type:<{width}}  {row.caliper_type:<16} {row.action:<22} {row.origin}\n")
        if args.lossy and row.lossy:
            out.write(f"{'':<{width}}  not carried: {', '.join(row.lossy)}\n")
    counts = {origin: sum(row.origin == origin for row in rows) for origin in ("documented", "generic", "custom", "unsupported")}
    out.write(", ".join(f"{count} {origin}" for origin, count in counts.items() if count) + "\n")
    return EXIT_OK


def _drift_command(commands: Any) -> None:
    parser = commands.add_parser(
        "drift",
        help="report how the events read differ from what the Canvas schemas know",
        description="Read events as validate does and print, per Canvas event type: its count, the fields "
        "no schema knows, the values that fail their field's schema, whether the type itself is unknown, "
        "and the schema's fields never seen. A Caliper record counts as the Canvas event it converts back "
        "to. How a data team learns that Canvas changed its events.",
    )
    parser.add_argument("--format", choices=("canvas", "caliper"), help="the events' format (default: detected per event)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    _add_mappings_option(parser)
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when any unknown event type, unknown field or type failure is found (default: exit 0)",
    )
    _add_inputs(parser)
    parser.set_defaults(run=_drift)


def _drift(args: argparse.Namespace, streams: Streams) -> int:
    _check_inputs(args)
    _check_mapping_dirs(args)
    translator = Translator(args.mappings)
    report = Report(command="drift", strict=args.strict, drift=Drift(translator.custom_events, track_seen=True))
    with Interruption() as interruption:
        for _ in _checked_items(args, streams, None, translator, report.drift, interruption):
            pass
    if args.json:
        json.dump(report.drift.as_dict(), streams.stdout, ensure_ascii=False, indent=2)
        streams.stdout.write("\n")
    else:
        for line in report.lines():
            print(line, file=streams.stdout)
    return _interrupted(interruption, "drift", streams) or report.exit_code



# -- live delivery (the `serve` extra) -------------------------------------------------------


def _serve_command(commands: Any) -> None:
    _live_command(
        commands,
        "serve",
        "receive Canvas's HTTPS deliveries, spool them durably, convert and deliver them",
        "An HTTP receiver for Canvas live events: verifies signed payloads against a JWKS URL, "
        "answers 202 only once the body is fsynced in the spool, converts in the background and writes "
        "rotating JSON Lines files or POSTs to a Caliper endpoint. Needs the serve extra.",
    )


def _consume_command(commands: Any) -> None:
    _live_command(
        commands,
        "consume",
        "consume Canvas's SQS queue: spool each message durably, then delete it; convert and deliver",
        "Long-polls an SQS queue, spools and fsyncs each message before deleting it (a message "
        "that cannot be spooled stays on the queue), converts in the background and delivers like serve. "
        "Needs the serve extra.",
    )


def _live_command(commands: Any, name: str, help: str, description: str) -> None:
    """`serve` or `consume`: options and handler in translator/live/commands.py (`add_<name>`, `<name>`)."""
    from .live import commands as live

    parser = commands.add_parser(name, help=help, description=description)
    _add_conversion_options(parser, live=True)
    live.add_common(parser)
    getattr(live, f"add_{name}")(parser)
    parser.set_defaults(run=lambda args, streams: _live(getattr(live, name), args))


def _live(command: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        return command(args)
    except ImportError as exc:
        raise UsageError(f"{exc.name or exc} is missing: pip install 'canvas-caliper-translator[serve]'") from None


COMMANDS: list[Callable[[Any], None]] = [
    _validate_command,
    _convert_command,
    _mappings_command,
    _drift_command,
    _serve_command,
    _consume_command,
]
