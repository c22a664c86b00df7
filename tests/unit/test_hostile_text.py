"""What can be stored, and how an unreadable Socket.IO packet is still answered."""

from __future__ import annotations

import pytest

from server.core.text import MAX_DEPTH, BadText, check_storable, clean_name
from server.realtime import codec


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"name": "a\x00"}, "$.name"),
        ({"name": "\ud83d"}, "$.name"),
        ({"attributes": {"plan": ["ok", "x\udfff"]}}, "$.attributes.plan[1]"),
        ({"attributes": {"k\x00": 1}}, "$.attributes"),
        ({"n": float("inf")}, "$.n"),
        ({"n": float("nan")}, "$.n"),
    ],
)
def test_unstorable_values_are_named(value: object, path: str) -> None:
    with pytest.raises(BadText) as refused:
        check_storable(value)
    assert refused.value.path == path


def test_storable_values_and_depth() -> None:
    check_storable({"name": "Zoë 😀", "n": 2**80, "ok": [True, None, 1.5]})
    nested: object = 1
    for _ in range(MAX_DEPTH):
        nested = [nested]
    check_storable(nested)
    with pytest.raises(BadText, match="nested"):
        check_storable([nested])


def test_names_are_trimmed_and_must_remain() -> None:
    assert clean_name("  Sales \t", "name") == "Sales"
    with pytest.raises(ValueError, match="name"):
        clean_name(" \n ", "name")


def test_the_codec_keeps_lone_surrogates_and_refuses_what_is_not_json() -> None:
    assert codec.loads('["e",{"name":"\\ud83d"}]') == ["e", {"name": "\ud83d"}]
    for text in ('["e",Infinity]', '["e",NaN]', '["e",{', "-Infinity"):
        with pytest.raises(codec.UndecodablePayload):
            codec.loads(text)


@pytest.mark.parametrize(
    ("packet", "header"),
    [
        ('2/customer,17["x",Infinity]', (2, "/customer", 17)),
        ('2["x",Infinity]', (2, "/", None)),
        ('21["x",Infinity]', (2, "/", 1)),
        ('51-/agent,3["x",{"_placeholder":true,"num":0}]', (5, "/agent", 3)),
        ("0/agent?x=1,{", (0, "/agent", None)),
        ("", (None, "/", None)),
    ],
)
def test_packet_headers_are_read_without_the_json(packet: str, header: tuple) -> None:
    assert codec.packet_header(packet) == header
