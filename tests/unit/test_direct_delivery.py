"""The gate's direct delivery writes the same Socket.IO packet python-socketio's emit would,
encoding a payload once for all the sockets and namespaces that get it."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet

from server.realtime import codec
from server.realtime.manager import GatedLocalManager


class _Recorder(socketio.AsyncServer):  # type: ignore[misc]
    """A real server whose Engine.IO sends are recorded instead of written to a transport."""

    def __init__(self) -> None:
        super().__init__(client_manager=GatedLocalManager(), json=codec)
        self.sent: list[tuple[str, str]] = []

    async def _send_eio_packet(self, eio_sid: str, eio_pkt: eio_packet.Packet) -> None:
        self.sent.append((eio_sid, eio_pkt.encode()))


class _CountingCodec:
    calls = 0

    @classmethod
    def dumps(cls, obj: Any, *args: Any, **kwargs: Any) -> str:
        cls.calls += 1
        return codec.dumps(obj)


async def test_the_packet_is_python_socketios_and_encoded_once_per_payload() -> None:
    server = _Recorder()
    manager = server.manager
    for namespace, sid, eio_sid in (("/customer", "c1", "e1"), ("/agent", "a1", "e2")):
        manager.basic_enter_room(sid, namespace, None, eio_sid=eio_sid)
        manager.basic_enter_room(sid, namespace, sid, eio_sid=eio_sid)
    manager.basic_enter_room("a2", "/agent", None, eio_sid="e3")
    manager.basic_enter_room("a2", "/agent", "a2", eio_sid="e3")
    payload = {"conversation_id": "c", "seq": 1, "body": 'héllo \u2028 "quoted"'}
    server.packet_class.json = _CountingCodec
    try:
        for namespace, sid in (("/customer", "c1"), ("/agent", "a1"), ("/agent", "a2")):
            await manager.send_direct(namespace, sid, "message", payload)
        await manager.send_direct("/agent", "gone", "message", payload)  # not connected
    finally:
        server.packet_class.json = codec
    assert _CountingCodec.calls == 1
    expected = {
        namespace: eio_packet.Packet(
            eio_packet.MESSAGE,
            socketio.packet.Packet(
                socketio.packet.EVENT, namespace=namespace, data=["message", payload]
            ).encode(),
        ).encode()
        for namespace in ("/customer", "/agent")
    }
    assert server.sent == [
        ("e1", expected["/customer"]),
        ("e2", expected["/agent"]),
        ("e3", expected["/agent"]),
    ]
