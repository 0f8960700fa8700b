"""The mapping catalog: mapping files loaded and compiled (loading.py), chosen per event
(dispatch.py) and run backward (restore.py). The names the rest of the package uses."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .dispatch import Catalog
from .loading import CompiledMapping, load_mappings

__all__ = ["Catalog", "CompiledMapping", "load_catalog"]


def load_catalog(directories: Iterable[Path | str] = ()) -> Catalog:
    """The shipped mappings plus `directories`, validated, compiled and ready for dispatch."""
    return Catalog(load_mappings(directories))
