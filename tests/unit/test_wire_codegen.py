"""The clients' TypeScript event types and protocol.md's payload tables match the event structs."""

from __future__ import annotations

from server import wire_codegen


def test_generated_files_are_current() -> None:
    stale = [
        str(path.relative_to(wire_codegen.ROOT))
        for path, text in wire_codegen.outputs().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run: python -m server.wire_codegen"


def test_every_event_is_in_the_typescript_event_map() -> None:
    source = wire_codegen.typescript()
    for cls in wire_codegen.CLIENT_EVENTS:
        assert f"  {cls.event}: {cls.__name__};" in source
        assert f"export interface {cls.__name__} {{" in source


def test_optional_only_where_the_payload_leaves_a_field_out() -> None:
    source = wire_codegen.typescript()
    assert "  handover?: Handover | null;" in source  # omitted when the assistant took no part
    assert "  url?: " not in source  # defaulted but always sent
    assert "  priority: number;" in source  # a defaulted field that is always sent
