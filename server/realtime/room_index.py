"""A client -> rooms index for python-socketio's manager, so that a departure costs the rooms
of that client instead of a scan of every room of the namespace.

python-socketio's `basic_disconnect` copies and scans the whole room table of the namespace
for each departing client (every client also has a room of its own, so the table grows with
the connections): 10,000 clients dropping at once stalled the loop for seconds. Its lists of
clients connecting and disconnecting are scanned on every check, too, which turns a storm
of connects or departures quadratic. The mixin keeps, per namespace, the rooms each client is
in (updated by the only two methods that change membership) and keeps those lists as
insertion-ordered dicts, so every step is O(1) or O(rooms of that client).
"""

from __future__ import annotations

from typing import Any

import socketio


class _SidList(dict[str, None]):
    """What python-socketio keeps as a list of sids (`append`, `remove`, `in`, `len`), with
    dict lookups instead of list scans."""

    def append(self, sid: str) -> None:
        self[sid] = None

    def remove(self, sid: str) -> None:
        del self[sid]


class _PendingByNamespace(dict[str, _SidList]):
    """python-socketio assigns `pending[namespace] = []`; each such list becomes a _SidList."""

    def __setitem__(self, namespace: str, sids: Any) -> None:
        super().__setitem__(namespace, _SidList((sid, None) for sid in sids))


class RoomIndex(socketio.AsyncManager):
    """Remembers which rooms each client is in; departures and room lists use it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # _rooms_of[namespace][sid]: every room the client is in, its own and None included.
        self._rooms_of: dict[str, dict[str, set[str | None]]] = {}
        self.pending_connect = _PendingByNamespace()
        self.pending_disconnect = _PendingByNamespace()

    def basic_enter_room(
        self, sid: str, namespace: str, room: str | None, eio_sid: str | None = None
    ) -> None:
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def basic_leave_room(self, sid: str, namespace: str, room: str | None) -> None:
        super().basic_leave_room(sid, namespace, room)
        clients = self._rooms_of.get(namespace)
        if clients is None:
            return
        rooms = clients.get(sid)
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del clients[sid]
                if not clients:
                    del self._rooms_of[namespace]

    def basic_disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        # The stock method, less its scan of every room in the namespace.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            sids = pending.get(namespace)
            if sids is not None and sid in sids:
                sids.remove(sid)
                if not sids:
                    del pending[namespace]

    def get_rooms(self, sid: str, namespace: str) -> list[str]:
        rooms = self._rooms_of.get(namespace, {}).get(sid, ())
        return [room for room in rooms if room is not None]
