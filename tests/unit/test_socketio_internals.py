"""The private python-socketio / python-engineio members Parley overrides or reads, pinned.

docs/architecture.md lists each with its reason. An upgrade that renames or reshapes one fails
here first, rather than as a subtle misbehaviour at run time."""

from __future__ import annotations

import inspect
from importlib.metadata import version

import engineio
import socketio


def _parameters(function: object) -> list[str]:
    return list(inspect.signature(function).parameters)  # type: ignore[arg-type]


def test_checked_versions() -> None:
    assert version("python-socketio").split(".")[0] == "5"
    assert version("python-engineio").split(".")[0] == "4"


def test_event_dispatch_and_packet_sending() -> None:
    assert _parameters(socketio.AsyncServer._handle_event_internal) == [
        "self",
        "server",
        "sid",
        "eio_sid",
        "data",
        "namespace",
        "id",
    ]
    assert _parameters(socketio.AsyncServer._send_packet) == ["self", "eio_sid", "pkt"]


def test_redis_publishing_and_local_rooms() -> None:
    assert _parameters(socketio.AsyncRedisManager._publish) == ["self", "data"]
    manager = socketio.AsyncManager()
    manager.set_server(socketio.AsyncServer())
    manager.initialize()
    assert isinstance(manager.rooms, dict)


def test_room_channel_hooks() -> None:
    from socketio.async_pubsub_manager import AsyncPubSubManager

    assert inspect.isasyncgenfunction(socketio.AsyncRedisManager._listen)
    assert _parameters(socketio.AsyncManager.basic_enter_room) == [
        "self",
        "sid",
        "namespace",
        "room",
        "eio_sid",
    ]
    assert _parameters(socketio.AsyncManager.basic_leave_room) == [
        "self",
        "sid",
        "namespace",
        "room",
    ]
    assert _parameters(socketio.AsyncManager.is_sid_room) == ["self", "namespace", "room"]
    assert "kwargs" in _parameters(AsyncPubSubManager.emit)  # ignore_queue=True: local only
    assert isinstance(AsyncPubSubManager().host_id, str)


def test_engineio_keeps_its_sockets_by_id() -> None:
    server = engineio.AsyncServer(async_mode="aiohttp")
    assert isinstance(server.sockets, dict)


def test_connection_hooks_we_override() -> None:
    assert _parameters(engineio.AsyncServer._handle_connect)[:3] == ["self", "environ", "transport"]
    assert _parameters(socketio.AsyncServer._handle_eio_connect) == ["self", "eio_sid", "environ"]
    assert _parameters(socketio.AsyncServer._handle_eio_disconnect)[:2] == ["self", "eio_sid"]
    assert _parameters(socketio.AsyncServer._handle_eio_message) == ["self", "eio_sid", "data"]
    assert _parameters(socketio.AsyncServer._engineio_server_class) == ["self"]
    assert inspect.isasyncgenfunction(socketio.AsyncRedisManager._redis_listen_with_retries)


def test_aiohttp_default_server_header() -> None:
    from aiohttp import web_response

    assert isinstance(web_response.SERVER_SOFTWARE, str)


def test_room_membership_methods_the_index_wraps() -> None:
    base = socketio.AsyncManager
    assert _parameters(base.basic_enter_room) == ["self", "sid", "namespace", "room", "eio_sid"]
    assert _parameters(base.basic_leave_room) == ["self", "sid", "namespace", "room"]
    assert _parameters(base.basic_disconnect) == ["self", "sid", "namespace", "kwargs"]
    assert _parameters(base.get_rooms) == ["self", "sid", "namespace"]
    manager = socketio.AsyncManager()
    assert manager.pending_connect == {} and manager.pending_disconnect == {}
    assert isinstance(manager.callbacks, dict)


def test_engineio_websocket_driver_we_replace() -> None:
    from engineio.async_drivers import aiohttp as driver

    from server.realtime.server import DrainingEngineServer

    assert driver._async["websocket"] is driver.WebSocket
    assert _parameters(driver.WebSocket.wait) == ["self"]
    server = DrainingEngineServer(async_mode="aiohttp")
    assert server._async["websocket"].__name__ == "ClosingWebSocket"
    assert driver._async["websocket"] is driver.WebSocket  # the library's table is untouched


def test_engineio_socket_members_the_lean_socket_replaces() -> None:
    from engineio import base_socket
    from engineio.async_socket import AsyncSocket

    assert _parameters(AsyncSocket.send) == ["self", "pkt"]
    assert _parameters(AsyncSocket.close) == ["self", "wait", "abort", "reason"]
    assert _parameters(AsyncSocket._websocket_handler) == ["self", "ws"]
    assert _parameters(AsyncSocket.schedule_ping) == ["self"]
    assert _parameters(AsyncSocket.check_ping_timeout) == ["self"]
    assert _parameters(AsyncSocket.receive) == ["self", "pkt"]
    # The socket takes its queue from the server (where ours returns an Outbox).
    assert "self.server.create_queue()" in inspect.getsource(base_socket.BaseSocket.__init__)
    server = engineio.AsyncServer(async_mode="aiohttp")
    assert _parameters(server._upgrades) == ["sid", "transport"]
    assert _parameters(server._ok) == ["packets", "headers", "jsonp_index"]
    assert _parameters(server._unauthorized) == ["message"]
    assert _parameters(server._generate_sid_cookie) == ["sid", "attributes"]
    assert inspect.iscoroutinefunction(server._service_task)
    assert isinstance(server.start_service_task, bool)
    for name in ("ping_interval", "ping_timeout", "ping_interval_grace_period"):
        assert isinstance(getattr(server, name), int | float)
