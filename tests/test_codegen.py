"""The generated function and the node tree it was generated from build the same events."""

from __future__ import annotations

import pytest

import translator
from corpus import canvas_examples
from translator.engine import canvas_host
from translator.ids import shard_of
from translator.mapping.converters import Scope
from translator.mapping.nodes import MappingRuntimeError

TRANSLATOR = translator.Translator()


@pytest.mark.parametrize("example", canvas_examples(), ids=lambda e: e.label)
def test_generated_code_builds_what_the_tree_builds(example) -> None:
    metadata, body = example.payload["metadata"], example.payload["body"]
    for mapping in (TRANSLATOR.mapping_for(metadata["event_name"]), TRANSLATOR.catalog.generic):
        scope = Scope(shard=shard_of(metadata.get("root_account_id")))
        ctx = {"metadata": metadata, "body": body, "host": canvas_host(metadata), "shard": scope.shard, "vars": mapping.vars}
        try:
            expected = mapping.template.build(ctx, scope, ())
        except MappingRuntimeError as exc:
            with pytest.raises(MappingRuntimeError) as caught:
                mapping.compiled(ctx, scope)
            assert (caught.value.output, caught.value.origin) == (exc.output, exc.origin)
            continue
        assert mapping.compiled(ctx, scope) == expected
