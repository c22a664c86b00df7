"""Every accepted connection has TCP_NODELAY and SO_KEEPALIVE, though neither is set on it one
by one any more (server/connection_budget.py: the event loop sets the first, the second is
inherited from the listening socket)."""

from __future__ import annotations

import asyncio
import os
import socket

from tests.support import Servers

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: parley\r\n\r\n"


def _server_side(peer: tuple[str, int]) -> socket.socket:
    """The server's end of the connection from `peer`, found among this process's sockets
    (the test server runs in it)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            copy = os.dup(int(name))
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        try:
            sock = socket.socket(fileno=copy)
        except OSError:
            # Not a socket. The copy must not outlive the test: a pipe's copy left open keeps
            # its other end from seeing the end of the stream (the browser driver's, at the
            # session's end, then waits for ever).
            os.close(copy)
            continue
        try:
            if sock.type == socket.SOCK_STREAM and sock.getpeername() == peer:
                return sock
        except OSError:
            pass
        sock.close()
    raise AssertionError("no server-side socket for the connection")


async def test_accepted_connections_have_nodelay_and_keepalive(servers: Servers) -> None:
    server = await servers.first()
    loop = asyncio.get_running_loop()
    client = socket.create_connection(("127.0.0.1", server.port))
    client.setblocking(False)
    try:
        await loop.sock_sendall(client, REQUEST)
        answer = await loop.sock_recv(client, 4096)  # handled: the handler has the connection
        assert answer.startswith(b"HTTP/1.1 200")
        accepted = _server_side(client.getsockname())
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        finally:
            accepted.close()
    finally:
        client.close()
