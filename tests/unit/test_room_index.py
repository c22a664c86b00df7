"""The manager's client -> rooms index behaves exactly like python-socketio's stock manager:
the same room table, room lists and connection states after any sequence of connects, room
changes, room closes and departures."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import socketio
from hypothesis import given, settings
from hypothesis import strategies as st

from server.realtime.room_index import RoomIndex

NAMESPACES = ("/customer", "/agent")
ROOMS = ("conv:1", "conv:2", "agents", "customer:1")
OPS = ("pre_connect", "connect", "enter", "leave", "close", "disconnect")


class IndexedManager(RoomIndex):
    """The mixin over the stock in-process manager (as in GatedLocalManager)."""


def _attach(manager: Any) -> Any:
    server = socketio.AsyncServer(client_manager=manager, async_mode="asgi")
    counter = itertools.count()
    # Identical sids in both managers, so that their tables can be compared.
    server.eio.generate_id = lambda: f"s{next(counter)}"
    return manager


def _table(manager: Any) -> dict[str, dict[Any, dict[str, str]]]:
    return {
        ns: {room: dict(members) for room, members in rooms.items()}
        for ns, rooms in manager.rooms.items()
    }


def _state(manager: Any, sids: list[tuple[str, str]]) -> tuple[Any, ...]:
    return (
        _table(manager),
        {ns: list(p) for ns, p in manager.pending_connect.items()},
        {ns: list(p) for ns, p in manager.pending_disconnect.items()},
        [sorted(manager.get_rooms(sid, ns)) for sid, ns in sids],
        [manager.is_connected(sid, ns) for sid, ns in sids],
        [manager.is_pre_connected(sid, ns) for sid, ns in sids],
    )


async def _apply(
    manager: Any, stock: Any, op: str, client: tuple[str, str] | None, ns: str, room: str, eio: int
) -> Any:
    """Run one step as python-socketio's server would (a client's own namespace; connect a
    client waiting to connect, disconnect one that is there: the states the server checks on
    the stock manager first); what it returns or raises is part of the behaviour compared."""
    try:
        if op == "pre_connect":
            return await manager.pre_connect(f"e{eio}", ns)
        if op == "close":
            return await manager.close_room(room, ns)
        if client is None:
            return None
        sid, own = client
        if op == "connect":
            if stock.is_pre_connected(sid, own):
                return await manager.connect(sid, own)
            return None
        if op == "enter":
            return await manager.enter_room(sid, own, room)
        if op == "leave":
            return await manager.leave_room(sid, own, room)
        if stock.is_connected(sid, own) or stock.is_pre_connected(sid, own):
            manager.pre_disconnect(sid, own)
            return await manager.disconnect(sid, own)
        return None
    except Exception as exc:
        return type(exc).__name__


steps = st.lists(
    st.tuples(
        st.sampled_from(OPS),
        st.integers(0, 20),  # which known client
        st.sampled_from(NAMESPACES),
        st.sampled_from(ROOMS),
        st.integers(0, 6),  # which engine.io connection a new client arrives on
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_the_index_matches_the_stock_manager(plan: list[tuple[str, int, str, str, int]]) -> None:
    async def run() -> None:
        stock = _attach(socketio.AsyncManager())
        indexed = _attach(IndexedManager())
        known: list[tuple[str, str]] = []
        for op, pick, ns, room, eio in plan:
            client = known[pick % len(known)] if known else None
            # The indexed manager first: the stock one's state decides what is legal.
            got = await _apply(indexed, stock, op, client, ns, room, eio)
            expected = await _apply(stock, stock, op, client, ns, room, eio)
            assert got == expected, (op, client, ns, room)
            if op == "pre_connect" and isinstance(got, str):
                known.append((got, ns))
            assert _state(indexed, known) == _state(stock, known)

    asyncio.run(run())


def test_a_departure_leaves_only_its_own_rooms() -> None:
    """What the index is for: a client's departure does not touch other clients' rooms, and
    the table and index are empty once everyone left."""

    async def run() -> None:
        manager = _attach(IndexedManager())
        sids = [await manager.pre_connect(f"e{i}", "/customer") for i in range(3)]
        for sid in sids:
            await manager.connect(sid, "/customer")
            await manager.enter_room(sid, "/customer", "conv:shared")
        await manager.enter_room(sids[0], "/customer", "conv:own")
        manager.pre_disconnect(sids[0], "/customer")
        await manager.disconnect(sids[0], "/customer")
        assert set(manager.rooms["/customer"]) == {None, sids[1], sids[2], "conv:shared"}
        assert dict(manager.rooms["/customer"]["conv:shared"]) == {
            sids[1]: "e1",
            sids[2]: "e2",
        }
        for sid in sids[1:]:
            manager.pre_disconnect(sid, "/customer")
            await manager.disconnect(sid, "/customer")
        assert manager.rooms == {}
        assert manager._rooms_of == {}
        assert dict(manager.pending_disconnect) == {}

    asyncio.run(run())
