"""The bounded listener's setting and its listening sockets (server/bounded_accept.py)."""

from __future__ import annotations

import socket

import pytest

from server.bounded_accept import listening_sockets
from server.config import ConfigError, load_settings


def test_the_setting_defaults_to_256_and_zero_turns_it_off() -> None:
    assert load_settings(environ={}).accept_ahead == 256
    assert load_settings(environ={"PARLEY_ACCEPT_AHEAD": "0"}).accept_ahead == 0
    with pytest.raises(ConfigError, match="PARLEY_ACCEPT_AHEAD"):
        load_settings(environ={"PARLEY_ACCEPT_AHEAD": "-1"})


def test_listening_sockets_are_bound_listening_and_non_blocking() -> None:
    (sock,) = listening_sockets("127.0.0.1", 0, 16)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 1
        assert sock.getblocking() is False
        client = socket.create_connection(sock.getsockname())
        client.close()
    finally:
        sock.close()


def test_a_port_in_use_closes_what_was_opened() -> None:
    (taken,) = listening_sockets("127.0.0.1", 0, 16)
    try:
        with pytest.raises(OSError):
            listening_sockets("127.0.0.1", taken.getsockname()[1], 16)
    finally:
        taken.close()
