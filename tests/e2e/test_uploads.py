"""Uploads stream into storage with the size limit enforced while reading; unsent ones expire."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import asyncpg

from server.actions import attachments as attachment_actions
from server.api.keys import SERVICES
from server.config import Settings
from server.core.models import AgentRole
from tests.support import RunningServer, agent_token, customer, start_server

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


async def _visitor_with_conversation(server: RunningServer) -> tuple[str, str]:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    await cust.close()
    return token, conversation_id


async def _upload(
    server: RunningServer, token: str, conversation_id: str, data: bytes, name: str = "a.txt"
) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", data, filename=name, content_type="text/plain")
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        http.post(f"{server.url}/api/v1/attachments", data=form) as r,
    ):
        return r.status, await r.json()


def _stored_files(server: RunningServer) -> list[Path]:
    root = server.settings.attachments_path
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


async def _rows(server: RunningServer) -> int:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM attachments"))
    finally:
        await conn.close()


async def test_an_oversize_upload_is_refused_while_it_is_still_arriving(settings: Settings) -> None:
    server = await start_server(settings.with_overrides(attachment_max_bytes=100_000))
    try:
        token, conversation_id = await _visitor_with_conversation(server)
        boundary = "parleyboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="conversation_id"\r\n\r\n{conversation_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        declared = len(head) + 10_000_000  # the client announces 10 MB but sends only a part
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            (
                f"POST /api/v1/attachments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {declared}\r\n\r\n"
            ).encode()
            + head
            + b"x" * 200_000
        )
        await writer.drain()
        # Answered without the rest of the body ever being sent: nothing waits for 10 MB.
        status_line = await asyncio.wait_for(reader.readline(), 10)
        assert status_line.startswith(b"HTTP/1.1 413"), status_line
        writer.close()
        assert _stored_files(server) == [] and await _rows(server) == 0
        # The limit is inclusive, and a good upload still works.
        status, body = await _upload(server, token, conversation_id, b"y" * 100_000)
        assert status == 201 and body["data"]["size_bytes"] == 100_000
        assert [p.stat().st_size for p in _stored_files(server)] == [100_000]
    finally:
        await server.stop()


async def test_the_file_must_come_after_the_conversation(server: RunningServer) -> None:
    token, conversation_id = await _visitor_with_conversation(server)
    form = aiohttp.FormData()
    form.add_field("file", b"hello", filename="a.txt", content_type="text/plain")
    form.add_field("conversation_id", conversation_id)
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http,
        http.post(f"{server.url}/api/v1/attachments", data=form) as r,
    ):
        assert r.status == 400 and "before file" in (await r.json())["error"]["message"]
    status, body = await _upload(server, token, conversation_id, b"")
    assert status == 422 and body["error"]["code"] == "validation_failed"
    assert _stored_files(server) == [] and await _rows(server) == 0


async def test_uploads_per_visitor_in_count_and_bytes(settings: Settings) -> None:
    server = await start_server(
        settings.with_overrides(
            rate_uploads_per_visitor="2/3600", rate_upload_bytes_per_visitor="1000/3600"
        )
    )
    try:
        token, conversation_id = await _visitor_with_conversation(server)
        assert (await _upload(server, token, conversation_id, b"a" * 10))[0] == 201
        assert (await _upload(server, token, conversation_id, b"b" * 10))[0] == 201
        status, body = await _upload(server, token, conversation_id, b"c" * 10)
        assert status == 429 and body["error"]["details"]["limit"] == "uploads_per_visitor"
        other, other_conversation = await _visitor_with_conversation(server)
        # One upload may overdraw the byte allowance (its size is known only once read)...
        assert (await _upload(server, other, other_conversation, b"d" * 1500))[0] == 201
        # ...and the next one then waits.
        status, body = await _upload(server, other, other_conversation, b"e")
        assert status == 429 and body["error"]["details"]["limit"] == "upload_bytes_per_visitor"
        assert body["error"]["details"]["retry_after"] >= 1
        # Agents are not visitors: their uploads are not counted here.
        _, agent_tok = await agent_token(server, role=AgentRole.ADMIN)
        for _ in range(3):
            assert (await _upload(server, agent_tok, conversation_id, b"f" * 10))[0] == 201
    finally:
        await server.stop()


async def test_uploads_never_sent_are_deleted_files_and_rows(settings: Settings) -> None:
    server = await start_server(settings.with_overrides(attachment_unsent_ttl_seconds=3600))
    try:
        cust = await customer(server.url)
        token = (await cust.ok("session"))["visitor_token"]
        conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
        _, sent = await _upload(server, token, conversation_id, b"sent")
        _, stale = await _upload(server, token, conversation_id, b"stale")
        _, fresh = await _upload(server, token, conversation_id, b"fresh")
        await cust.ok(
            "send_message",
            {
                "conversation_id": conversation_id,
                "client_id": "m1",
                "body": "",
                "attachment_ids": [sent["data"]["id"]],
            },
        )
        conn = await asyncpg.connect(server.settings.database_url)
        try:
            await conn.execute(
                "UPDATE attachments SET created_at = now() - interval '2 hours' WHERE id = ANY($1::uuid[])",
                [uuid.UUID(sent["data"]["id"]), uuid.UUID(stale["data"]["id"])],
            )
            assert await attachment_actions.sweep_unsent(server.app[SERVICES]) == 1
            left = {str(r["id"]) for r in await conn.fetch("SELECT id FROM attachments")}
        finally:
            await conn.close()
        assert left == {sent["data"]["id"], fresh["data"]["id"]}
        assert sorted(p.read_bytes() for p in _stored_files(server)) == [b"fresh", b"sent"]
        assert await attachment_actions.sweep_unsent(server.app[SERVICES]) == 0
        await cust.close()
    finally:
        await server.stop()
