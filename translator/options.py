"""The options of a conversion, declared once: the library, the CLI, Spark and the live receiver
all build a `ConvertOptions` and hand it on. It is frozen and picklable, so it is what worker
processes and Spark executors receive to build their own converter from."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from .engine import IdStyle, SendTime, Target, Translator
from .errors import TranslatorError
from .io.jws import DEFAULT_ISSUERS, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, JwksVerifier
from .mapping.expressions import DEFAULT_BUDGET

FLAG_NAMES = {"mapping_dirs": "mappings", "full_output_check": "paranoid"}  # options whose flag says it otherwise


@dataclass(frozen=True)
class ConvertOptions:
    """How records are converted. Sequences given are kept as tuples, a JWKS path as a string."""

    to: Target = "caliper"  # the format to convert to: caliper or canvas
    ids: IdStyle = "canvas"  # Canvas id form when converting to Canvas: canvas (documented), global or local
    generic: bool = True  # Canvas event types without a mapping take the generic form (else unsupported-event)
    strict: bool = False  # unknown Canvas event types and fields are errors (unknown-event/-field), not warnings
    send_time: SendTime = "event"  # sendTime of Caliper envelopes: event (the event_time), now, or a timestamp
    canvas_host: str | None = None  # the Canvas host of system-generated events that name none
    mapping_dirs: tuple[str, ...] = ()  # directories of extra mappings (any iterable given is kept as a tuple)
    full_output_check: bool = False  # check every whole output, even where the mapping is proven (--paranoid)
    mapping_budget: float | None = DEFAULT_BUDGET  # seconds an event's mapping expressions may run (0, None: no limit)
    jwks: str | Path | Mapping[str, Any] | None = None  # a JWKS (file or parsed; kept as str or dict) for signed payloads
    leeway: float = DEFAULT_LEEWAY  # clock leeway, in seconds, for exp/nbf of signed payloads
    issuers: tuple[str, ...] | None = DEFAULT_ISSUERS  # the allowed iss of signed payloads; None: any
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES  # signed payloads longer than this are refused

    def __post_init__(self) -> None:
        if self.to not in ("caliper", "canvas"):
            raise TranslatorError(f"unknown target format {self.to!r}; expected caliper or canvas")
        if self.ids not in ("canvas", "global", "local"):
            raise TranslatorError(f"unknown id style {self.ids!r}; expected canvas, global or local")
        if self.mapping_budget is not None and not self.mapping_budget >= 0:
            raise TranslatorError(f"the mapping budget must be 0 or more seconds, not {self.mapping_budget!r}")
        set_ = object.__setattr__  # normalising a frozen instance once, as it is built
        set_(self, "mapping_dirs", tuple(str(d) for d in self.mapping_dirs or ()))
        if self.issuers is not None:
            set_(self, "issuers", tuple(self.issuers))
        if isinstance(self.jwks, Mapping):
            set_(self, "jwks", dict(self.jwks))
        elif self.jwks is not None:
            set_(self, "jwks", str(self.jwks))

    @classmethod
    def among(cls, values: Mapping[str, Any]) -> ConvertOptions:
        """The options among `values`: the CLI's parsed flags or the live settings, which name two
        options after their flags (public functions take them as parameters: `with_options`)."""
        found = {}
        for option in fields(cls):
            for name in (option.name, FLAG_NAMES.get(option.name)):
                if name in values:
                    found[option.name] = values[name]
                    break
        return cls(**found)

    @property
    def translator_key(self) -> tuple[Any, ...]:
        """What the `Translator` depends on: options equal here can share one."""
        return (self.mapping_dirs, self.generic, self.strict, self.canvas_host, self.full_output_check, self.mapping_budget)

    def translator(self) -> Translator:
        return Translator(
            list(self.mapping_dirs),
            generic=self.generic,
            strict=self.strict,
            canvas_host=self.canvas_host,
            full_output_check=self.full_output_check,
            mapping_budget=self.mapping_budget,
        )

    def verifier(self) -> JwksVerifier | None:
        """The verifier of signed payloads, or None without a JWKS; a JWKS with no usable key fails here."""
        checks = {"leeway": self.leeway, "issuers": self.issuers, "max_bytes": self.max_token_bytes}
        if isinstance(self.jwks, str):
            return JwksVerifier.from_file(self.jwks, **checks)  # type: ignore[arg-type]
        if self.jwks is not None:
            return JwksVerifier(self.jwks, **checks)  # type: ignore[arg-type]
        return None


Function = TypeVar("Function", bound=Callable[..., Any])


def with_options(function: Function) -> Function:
    """`function`, written with an ``options: ConvertOptions`` parameter, offered with every option
    as a typed keyword parameter of its own instead (its signature, so `help()` lists them with
    their defaults): the options are declared here once, not again in each function's parameters.
    An option the function names itself (`to`, say) is passed to it as well."""
    try:
        own = inspect.signature(function, eval_str=True)
    except NameError:  # a name imported for type checking only: shown as written
        own = inspect.signature(function)
    if "options" not in own.parameters:
        raise TypeError(f"{function.__qualname__} has no options parameter")
    kept = [p for p in own.parameters.values() if p.name != "options"]
    named = {p.name for p in kept}
    hints = get_type_hints(ConvertOptions)
    added = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in fields(ConvertOptions)
        if f.name not in named
    ]
    signature = own.replace(parameters=[*kept, *added])
    options = {f.name for f in fields(ConvertOptions)}

    @functools.wraps(function)
    def offered(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        given = {name: value for name, value in bound.arguments.items() if name in options}
        passed = {name: value for name, value in bound.arguments.items() if name in named}
        return function(**passed, options=ConvertOptions(**given))

    offered.__signature__ = signature  # type: ignore[attr-defined]
    return offered  # type: ignore[return-value]
