"""Random ids from the process's pool (server/ids.py): formats, no repeats, fresh bytes after a fork."""

from __future__ import annotations

import base64
import os
import re
import uuid

from server import ids
from server.ids import RandomPool


def test_one_read_serves_many_ids_and_none_repeats() -> None:
    pool = RandomPool(chunk=4096)
    taken = [pool.take(16) for _ in range(1000)]
    assert len(set(taken)) == 1000 and all(len(b) == 16 for b in taken)
    assert pool.reads == 4  # 256 ids of 16 bytes per read
    assert len(pool.take(5000)) == 5000  # larger than a chunk: read for itself
    assert pool.reads == 5


def test_formats_match_what_they_replace() -> None:
    visitor = ids.uuid4()
    assert visitor.version == 4 and visitor.variant == uuid.RFC_4122
    assert re.fullmatch(r"[0-9a-f]{32}", ids.random_hex())
    sid = ids.session_id(0x0102_03)
    # python-engineio's: 12 random bytes and the 3-byte sequence, URL-safe base64.
    assert re.fullmatch(r"[A-Za-z0-9_-]{20}", sid)
    assert base64.urlsafe_b64decode(sid)[12:] == b"\x01\x02\x03"
    assert len({ids.session_id(1) for _ in range(500)}) == 500


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.random_bytes(16)  # the parent holds an unread chunk now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child)
        os.write(write, ids.random_bytes(16))
        os._exit(0)
    os.close(write)
    childs = os.read(read, 16)
    os.close(read)
    os.waitpid(child, 0)
    assert len(childs) == 16 and childs != ids.random_bytes(16)


def test_session_ids_read_as_python_engineio_writes_them() -> None:
    from types import SimpleNamespace

    from engineio.base_server import BaseServer

    theirs = BaseServer.generate_id(SimpleNamespace(sequence_number=7))  # type: ignore[arg-type]
    ours = ids.session_id(7)
    assert len(ours) == len(theirs) == 20
    assert base64.urlsafe_b64decode(ours)[12:] == base64.urlsafe_b64decode(theirs)[12:]
