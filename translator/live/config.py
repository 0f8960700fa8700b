"""The settings of `translator serve` and `translator consume`: defaults, a config file, flags.

One config file (TOML, or YAML for `.yaml`/`.yml`), a flat table whose keys are the settings'
names below (`port = 8443`, `jwks_url = "..."`, `caliper_endpoint = "..."`); flags given on the
command line override it. Unknown keys and values of the wrong type are refused with the file
and key named, never ignored. The Caliper token may also come from `TRANSLATOR_CALIPER_TOKEN`,
so it need not sit in a file or a process listing.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ..errors import TranslatorError
from ..ids import caliper_time
from ..io.jws import CANVAS_ISSUER, CANVAS_JWKS_URL, DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES
from ..options import ConvertOptions
from .spool import DEFAULT_SEGMENT_BYTES

TOKEN_VARIABLE = "TRANSLATOR_CALIPER_TOKEN"


@dataclass(frozen=True)
class LiveSettings:
    # conversion: the options of `translator convert`
    to: str = ConvertOptions.to
    mappings: list[str] = field(default_factory=list)
    ids: str = ConvertOptions.ids
    generic: bool = ConvertOptions.generic
    send_time: str = ConvertOptions.send_time
    strict: bool = ConvertOptions.strict
    canvas_host: str | None = ConvertOptions.canvas_host
    paranoid: bool = ConvertOptions.full_output_check
    mapping_budget: float | None = ConvertOptions.mapping_budget
    # the HTTPS receiver
    host: str = "127.0.0.1"
    port: int = 8080
    path: str = "/events"
    max_body: int = 1 << 20
    allow_unsigned: bool = False
    jwks_url: str = CANVAS_JWKS_URL
    jwt_issuers: list[str] = field(default_factory=lambda: [CANVAS_ISSUER])
    jwt_leeway: float = DEFAULT_LEEWAY
    jwt_max_bytes: int = DEFAULT_MAX_TOKEN_BYTES
    jwks_cooldown: float = 60.0
    jwks_max_age: float = 3600.0
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    backlog: int = 2048
    limit_concurrency: int | None = 1000
    # the spool
    spool: str = "spool"
    spool_max_bytes: int | None = None
    segment_bytes: int = DEFAULT_SEGMENT_BYTES
    # where events go
    out: str = "out"
    rotate_bytes: int = 256 << 20
    rotate_seconds: float = 3600.0
    gzip: bool = False
    caliper_endpoint: str | None = None
    caliper_token: str | None = None
    caliper_batch: int = 100
    caliper_backoff: float = 0.5
    dedup_seconds: float = 600.0
    dedup_size: int = 100_000
    # the SQS consumer
    sqs: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    wait_seconds: int = 20
    max_messages: int = 10
    log_level: str = "info"

    def convert_options(self) -> ConvertOptions:
        """The conversion's options; signed deliveries are verified before, by the JWKS cache."""
        return ConvertOptions.among(vars(self))

    @property
    def issuers(self) -> tuple[str, ...] | None:
        """The allowed `iss` of signed payloads; None (any) when the list holds `*`."""
        return None if "*" in self.jwt_issuers else tuple(self.jwt_issuers)


_TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "list[str]": (list,),
}
_CHOICES = {"to": ("caliper", "canvas"), "ids": ("canvas", "global", "local"), "log_level": ("debug", "info", "warning", "error")}


def load_settings(path: str | None = None, overrides: dict[str, Any] | None = None) -> LiveSettings:
    """The defaults, then the config file at `path`, then `overrides` (the flags given)."""
    values = _read(path) if path else {}
    values.update(overrides or {})
    if "caliper_token" not in values and os.environ.get(TOKEN_VARIABLE):
        values["caliper_token"] = os.environ[TOKEN_VARIABLE]
    where = path or "the command line"
    known = {f.name: str(f.type) for f in fields(LiveSettings)}
    for name, value in values.items():
        if name not in known:
            raise TranslatorError(f"{where}: unknown setting {name!r} (known: {', '.join(sorted(known))})")
        kind = known[name]
        types = _TYPES[kind.removesuffix(" | None")]
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if value is None and kind.endswith("| None"):
            wrong = False
        if wrong or (kind == "list[str]" and not all(isinstance(item, str) for item in value)):
            raise TranslatorError(f"{where}: setting {name!r} must be {kind}, not {value!r}")
        if name in _CHOICES and value not in _CHOICES[name]:
            raise TranslatorError(f"{where}: setting {name!r} must be one of {', '.join(_CHOICES[name])}, not {value!r}")
    settings = replace(LiveSettings(), **values)
    if settings.send_time not in ("event", "now"):
        try:
            settings = replace(settings, send_time=caliper_time(settings.send_time))
        except ValueError:
            raise TranslatorError(f"{where}: send_time must be event, now or a timestamp, not {settings.send_time!r}") from None
    if settings.caliper_endpoint and settings.to != "caliper":
        raise TranslatorError(f"{where}: a Caliper endpoint receives Caliper events: use to = caliper")
    return settings


def _read(path: str) -> dict[str, Any]:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TranslatorError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    try:
        if path.endswith((".yaml", ".yml")):
            values = yaml.safe_load(data.decode("utf-8"))
        else:
            if sys.version_info < (3, 11):
                raise TranslatorError(f"{path}: TOML needs Python 3.11 or later; write the config as YAML (.yaml)")
            import tomllib

            values = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError, ValueError) as exc:
        raise TranslatorError(f"the config file {path} cannot be read: {exc}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise TranslatorError(f"the config file {path} must hold a table of settings")
    return dict(values)
