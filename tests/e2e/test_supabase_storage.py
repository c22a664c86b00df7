"""Attachments in Supabase Storage, against a local server speaking its API: upload (the
bucket created when missing), signed downloads after Parley's own check, and its failures."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from server.core.errors import ErrorCode, ParleyError
from server.store.supabase_storage import SupabaseStorageBlobStore
from tests.fake_supabase_storage import SERVICE_KEY, FakeSupabaseStorage
from tests.support import RunningServer, customer

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest_asyncio.fixture
async def storage() -> AsyncIterator[FakeSupabaseStorage]:
    fake = await FakeSupabaseStorage().start()
    yield fake
    await fake.stop()


@pytest.fixture
def server_options(storage: FakeSupabaseStorage) -> dict[str, object]:
    return {"supabase_url": storage.url, "supabase_service_key": SERVICE_KEY}


async def _upload(
    server: RunningServer,
    token: str,
    conversation_id: str,
    data: bytes,
    content_type: str = "image/png",
) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("conversation_id", conversation_id)
    form.add_field("file", data, filename="pixel.png", content_type=content_type)
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        async with http.post(f"{server.url}/api/v1/attachments", data=form) as response:
            return response.status, await response.json()


async def _visitor(server: RunningServer) -> tuple[str, str]:
    cust = await customer(server.url)
    token = (await cust.ok("session"))["visitor_token"]
    conversation_id = (await cust.ok("start_conversation", {}))["conversation"]["id"]
    await cust.close()
    return token, conversation_id


async def _rows(server: RunningServer) -> int:
    conn = await asyncpg.connect(server.settings.database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM attachments"))
    finally:
        await conn.close()


async def test_upload_creates_the_private_bucket_and_downloads_are_signed_after_authorization(
    server: RunningServer, storage: FakeSupabaseStorage
) -> None:
    token, conversation_id = await _visitor(server)
    status, body = await _upload(server, token, conversation_id, PNG)
    assert status == 201, body
    attachment_id = body["data"]["id"]
    assert list(storage.buckets) == ["parley-attachments"]
    assert storage.buckets["parley-attachments"]["public"] is False
    assert (
        storage.buckets["parley-attachments"]["file_size_limit"]
        == server.settings.attachment_max_bytes
    )
    assert [data for data, _ in storage.objects.values()] == [PNG]

    content = f"{server.url}/api/v1/attachments/{attachment_id}/content"
    async with aiohttp.ClientSession() as http:
        async with http.get(
            content, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False
        ) as r:
            assert r.status == 302
            signed = r.headers["Location"]
        assert signed.startswith(f"{storage.url}/storage/v1/object/sign/parley-attachments/")
        async with http.get(signed) as r:
            assert r.status == 200 and await r.read() == PNG
        # Parley's own check comes first: nobody else gets a link.
        stranger = (await (await http.post(f"{server.url}/api/v1/visitors")).json())["data"][
            "visitor_token"
        ]
        signs = sum(1 for r in storage.requests if r.startswith("POST /storage/v1/object/sign/"))
        async with http.get(
            content, headers={"Authorization": f"Bearer {stranger}"}, allow_redirects=False
        ) as r:
            assert r.status == 404
        async with http.get(content, allow_redirects=False) as r:
            assert r.status == 401
    assert (
        sum(1 for r in storage.requests if r.startswith("POST /storage/v1/object/sign/"))
        == signs
        == 1
    )


async def test_parley_limits_apply_before_anything_reaches_storage(
    server: RunningServer, storage: FakeSupabaseStorage
) -> None:
    token, conversation_id = await _visitor(server)
    status, body = await _upload(server, token, conversation_id, b"<script>", "text/html")
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    too_big = b"x" * (server.settings.attachment_max_bytes + 1)
    status, body = await _upload(server, token, conversation_id, too_big, "text/plain")
    assert status == 413 and body["error"]["code"] == "too_large"
    assert storage.requests == [] and await _rows(server) == 0


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (
            (
                413,
                {
                    "statusCode": "413",
                    "error": "Payload too large",
                    "message": "The object exceeded the maximum allowed size",
                },
            ),
            413,
            "too_large",
        ),
        ((500, {"statusCode": "500", "error": "internal", "message": "boom"}), 503, "unavailable"),
        ((503, {"message": "upstream unavailable"}), 503, "unavailable"),
    ],
)
async def test_storage_failures_give_a_clear_error_and_no_attachment_row(
    server: RunningServer, storage: FakeSupabaseStorage, failure: Any, status: int, code: str
) -> None:
    token, conversation_id = await _visitor(server)
    storage.upload_failures = [failure]
    got, body = await _upload(server, token, conversation_id, PNG)
    assert (got, body["error"]["code"]) == (status, code)
    assert await _rows(server) == 0 and storage.objects == {}
    # The next upload goes through: nothing was left half done.
    got, body = await _upload(server, token, conversation_id, PNG)
    assert got == 201 and await _rows(server) == 1 and len(storage.objects) == 1


async def test_a_hanging_storage_times_out_as_unavailable_and_delete_removes(
    storage: FakeSupabaseStorage,
) -> None:
    blobs = SupabaseStorageBlobStore(
        storage.url, SERVICE_KEY, "files", max_bytes=1000, content_types=("image/png",), timeout=0.5
    )
    try:
        await blobs.put("k1", _chunks(PNG), "image/png")  # creates the bucket, then stores
        assert await blobs.get("k1") == PNG
        storage.upload_failures = ["hang"]
        with pytest.raises(ParleyError) as failed:
            await blobs.put("k2", _chunks(PNG), "image/png")
        assert failed.value.code is ErrorCode.UNAVAILABLE
        await blobs.delete("k1")
        assert storage.objects == {} and await blobs.get("k1") is None
        storage.buckets.clear()  # the bucket deleted behind Parley's back: recreated on upload
        await blobs.put("k3", _chunks(PNG), "image/png")
        assert list(storage.objects) == [("files", "k3")]
    finally:
        await blobs.aclose()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data
