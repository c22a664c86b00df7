"""Property-based fuzzing: every socket event and every REST body, fed hostile values (NUL,
lone surrogates, huge and negative numbers, non-JSON numbers, wrong types, deep nesting, unknown
fields), always gets an answer that is not `internal`/500; the connection stays up, and nothing
is left half-written."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg
import msgspec.inspect as mi
import pytest_asyncio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from server.api.openapi import ENDPOINTS
from server.core.models import AgentRole
from server.realtime import schemas
from tests.e2e.raw_socket import RawSocket
from tests.support import RunningServer, agent_token

CUSTOMER_EVENTS: dict[str, type[schemas.Payload]] = {
    "session": schemas.Payload,
    "start_conversation": schemas.StartConversation,
    "identify": schemas.Identify,
    "resume": schemas.Resume,
    "list_conversations": schemas.ListConversations,
    "request_human": schemas.RequestHuman,
    "mark_solved": schemas.MarkSolved,
    "send_message": schemas.SendMessage,
    "typing": schemas.Typing,
    "mark_read": schemas.Receipt,
    "mark_delivered": schemas.Receipt,
    "history": schemas.History,
    "leave": schemas.ConversationRef,
}
AGENT_EVENTS: dict[str, type[schemas.Payload]] = {
    "whoami": schemas.Payload,
    "set_presence": schemas.SetPresence,
    "join": schemas.Resume,
    "resolve": schemas.ConversationRef,
    "reopen": schemas.ConversationRef,
    "claim": schemas.ConversationRef,
    "unassign": schemas.ConversationRef,
    "transfer": schemas.Transfer,
    "set_priority": schemas.SetPriority,
    "get_queue": schemas.GetQueue,
    "suggest_reply": schemas.SuggestReply,
    "send_message": schemas.SendMessage,
    "typing": schemas.Typing,
    "mark_read": schemas.Receipt,
    "history": schemas.History,
    "leave": schemas.ConversationRef,
}
REAL = "<the real conversation>"

nasty_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["", " ", "\x00", "a\x00b", "\ud83d", "x\udfff", "😀", "x" * 6000, "urgent", "online"]
    ),
)
nasty_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63, 2**63 - 1, -1, 0, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),  # NaN and Infinity are not JSON
)
leaf = st.one_of(
    st.none(), st.booleans(), nasty_number, nasty_text, st.just(REAL), st.uuids().map(str)
)
nasty = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(nasty_text, inner, max_size=3)
    ),
    max_leaves=8,
)
deep = st.integers(min_value=15, max_value=60).map(lambda n: json.loads("[" * n + "]" * n))


def plausible(t: mi.Type) -> Any:
    """A value of the declared type that passes the decoder, so the nasty one next to it is
    what reaches the checks behind it."""
    if isinstance(t, mi.UnionType):
        return plausible(next(x for x in t.types if not isinstance(x, mi.NoneType)))
    if isinstance(t, mi.UUIDType):
        return REAL
    if isinstance(t, mi.IntType):
        return max(t.ge or 0, 1) if t.le is None else t.le
    if isinstance(t, mi.BoolType):
        return True
    if isinstance(t, (mi.LiteralType, mi.EnumType)):
        return sorted(str(v) for v in (t.values if isinstance(t, mi.LiteralType) else t.cls))[0]
    if isinstance(t, mi.StrType):
        return (
            "plausible@example.test"
            if t.pattern and "@" in t.pattern
            else ("0" * 64 if t.pattern else "x")
        )
    if isinstance(t, (mi.ListType, mi.DictType)):
        return [] if isinstance(t, mi.ListType) else {}
    return None


# Past bigint, where PostgreSQL parameters overflow; and the small wrong ones.
huge = st.sampled_from([2**63, 2**64, -(2**63) - 1, 10**30])
odd_numbers = st.sampled_from([-1, 1e300, -0.5, float("nan"), float("inf")])
nasty_strings = st.sampled_from(
    ["\x00", "a\x00b", "\ud83d", "x\udfff", "   ", "", "x" * 6000, "😀"]
)


def hostile_for(t: mi.Type) -> st.SearchStrategy[Any]:
    """What breaks a field of this type most often, and now and then anything at all."""
    if isinstance(t, mi.UnionType):
        t = next(x for x in t.types if not isinstance(x, mi.NoneType))
    typed: st.SearchStrategy[Any] = nasty
    if isinstance(t, (mi.IntType, mi.FloatType)):
        typed = st.one_of(huge, huge, odd_numbers, st.integers(), nasty_strings)
    elif isinstance(t, (mi.StrType, mi.UUIDType, mi.LiteralType, mi.EnumType)):
        typed = st.one_of(nasty_strings, huge, st.lists(nasty_strings, max_size=2))
    elif isinstance(t, (mi.ListType, mi.DictType)):
        typed = st.one_of(
            st.lists(st.one_of(nasty_strings, huge), max_size=3),
            st.dictionaries(nasty_strings, st.one_of(nasty_strings, huge), max_size=3),
        )
    return st.one_of(typed, typed, typed, nasty, deep)


def body_for(kind: type) -> st.SearchStrategy[Any]:
    """A plausible object with one field (or more) made hostile, sometimes with an unknown
    field, or something that is not an object at all."""
    info = mi.type_info(kind)
    declared = list(info.fields) if isinstance(info, mi.StructType) else []
    fields = {f.encode_name: plausible(f.type) for f in declared}
    if declared:
        one_bad = st.sampled_from(declared).flatmap(
            lambda f: hostile_for(f.type).map(lambda value: {**fields, f.encode_name: value})
        )
        many_bad = st.fixed_dictionaries(
            {}, optional={f.encode_name: hostile_for(f.type) for f in declared}
        )
    else:
        one_bad = many_bad = st.just({})
    extra = st.dictionaries(nasty_text, nasty, min_size=1, max_size=2)
    return st.one_of(
        *[one_bad] * 6,
        many_bad,
        st.tuples(st.just(fields), extra).map(lambda pair: {**pair[0], **pair[1]}),
        nasty,
        deep,
    )


def real(value: Any, conversation_id: str) -> Any:
    if value == REAL:
        return conversation_id
    if isinstance(value, dict):
        return {k: real(v, conversation_id) for k, v in value.items()}
    if isinstance(value, list):
        return [real(v, conversation_id) for v in value]
    return value


@dataclass
class Fuzzing:
    server: RunningServer
    customer: RawSocket
    staff: RawSocket
    admin_token: str
    conversation_id: str
    target_agent: str
    team_id: str
    db: asyncpg.Connection
    acks: int = 0


@pytest_asyncio.fixture
async def fuzzing(server: RunningServer) -> AsyncIterator[Fuzzing]:
    _, admin = await agent_token(server, role=AgentRole.ADMIN)
    target, _ = await agent_token(server)
    customer = await RawSocket.open(server.url, "/customer")
    started = await customer.emit(1, '["start_conversation",{}]')
    staff = await RawSocket.open(server.url, "/agent", admin)
    db = await asyncpg.connect(server.settings.database_url)
    team_id = str(await db.fetchval("SELECT id FROM teams WHERE slug = 'support'"))
    conversation_id = started["data"]["conversation"]["id"]
    yield Fuzzing(server, customer, staff, admin, conversation_id, str(target), team_id, db)
    await customer.close()
    await staff.close()
    await db.close()


def _refused_internal(ack: Any) -> bool:
    return isinstance(ack, dict) and ack.get("ok") is False and ack["error"]["code"] == "internal"


async def _assert_nothing_half_written(db: asyncpg.Connection) -> None:
    """Every conversation's sequence matches its stored messages: no message without its
    sequence step, no step without its message."""
    broken = await db.fetch(
        """SELECT c.id FROM conversations c
           WHERE c.last_seq <> (SELECT coalesce(max(seq), 0) FROM messages m
                                WHERE m.conversation_id = c.id)"""
    )
    assert broken == []


async def _fuzz_event(
    fuzzing: Fuzzing, socket: RawSocket, event: str, payload: Any, extra: bool
) -> None:
    arguments = [event, real(payload, fuzzing.conversation_id)]
    if extra:
        arguments.append({"second": True})
    fuzzing.acks += 1
    ack = await socket.emit(fuzzing.acks + 10, json.dumps(arguments))  # ensure_ascii: "\ud83d"
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    assert not _refused_internal(ack), (event, payload, ack)
    if extra:
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack


# Bounded: no shrinking (the server's state moves on between runs, so a shrunk case would not
# replay anyway; the failing example is reported as drawn) and no example database on disk.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# Every event in every example, so each one meets its share of hostile values.
@FUZZ
@given(data=st.data())
async def test_every_socket_event_answers_hostile_payloads(
    fuzzing: Fuzzing, data: st.DataObject
) -> None:
    for side, events in (("customer", CUSTOMER_EVENTS), ("staff", AGENT_EVENTS)):
        socket = fuzzing.customer if side == "customer" else fuzzing.staff
        for event, kind in events.items():
            payload = data.draw(body_for(kind), label=f"{side} {event}")
            extra = data.draw(st.integers(0, 9).map(lambda n: n == 0), label="extra argument")
            await _fuzz_event(fuzzing, socket, event, payload, extra)
        # The connection is still up and answers.
        fuzzing.acks += 1
        alive = await socket.emit(
            fuzzing.acks + 10, '["whoami",{}]' if side == "staff" else '["session",{}]'
        )
        assert alive["ok"] is True, alive
    await _assert_nothing_half_written(fuzzing.db)


BODIES = [e for e in ENDPOINTS if e.body is not None]


def _path(template: str, fuzzing: Fuzzing) -> str:
    return template.format(
        conversation_id=fuzzing.conversation_id,
        response_id=uuid.uuid4(),
        agent_id=fuzzing.target_agent,
        team_id=fuzzing.team_id,
        slug="fuzzed-article",
    )


REST_CALLS = st.sampled_from(range(len(BODIES))).flatmap(
    lambda index: st.tuples(st.just(index), body_for(BODIES[index].body))  # type: ignore[arg-type]
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(call=REST_CALLS)
async def test_every_rest_body_answers_hostile_values(
    fuzzing: Fuzzing, call: tuple[int, Any]
) -> None:
    endpoint, body = BODIES[call[0]], real(call[1], "")
    data = json.dumps(body).encode()  # NaN/Infinity and "\udXXX" escapes go out as written
    headers = {"Authorization": f"Bearer {fuzzing.admin_token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(base_url=fuzzing.server.url) as http:
        async with http.request(
            endpoint.method, _path(endpoint.path, fuzzing), data=data, headers=headers
        ) as r:
            answer = await r.json()
            assert r.status < 500, (endpoint.path, body, answer)
            assert (r.status < 400) is answer["ok"], answer
    await _assert_nothing_half_written(fuzzing.db)
