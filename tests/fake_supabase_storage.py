"""A local HTTP server speaking the part of Supabase's Storage API that the storage client
uses (buckets, upload, download, signed URLs, delete), with failures on demand."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from tests.support import free_port

SERVICE_KEY = "service-role-key-for-tests"


class FakeSupabaseStorage:
    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, Any]] = {}
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}
        self.requests: list[str] = []
        # Answers for the next uploads, in order: (status, JSON body), or "hang".
        self.upload_failures: list[tuple[int, dict[str, Any]] | str] = []
        self.port = free_port()
        self._never = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeSupabaseStorage:
        app = web.Application(middlewares=[self._authorized])
        app.router.add_post("/storage/v1/bucket", self._create_bucket)
        app.router.add_post("/storage/v1/object/sign/{bucket}/{key}", self._sign)
        app.router.add_get("/storage/v1/object/sign/{bucket}/{key}", self._signed_get)
        app.router.add_post("/storage/v1/object/{bucket}/{key}", self._upload)
        app.router.add_get("/storage/v1/object/{bucket}/{key}", self._download)
        app.router.add_delete("/storage/v1/object/{bucket}", self._remove)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @web.middleware
    async def _authorized(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if "/object/sign/" in request.path and request.method == "GET":
            return await handler(request)  # a signed URL carries its own token
        if request.headers.get("Authorization") != f"Bearer {SERVICE_KEY}":
            return _error(403, "Unauthorized", "invalid signature")
        return await handler(request)

    async def _create_bucket(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body["id"] in self.buckets:
            return _error(409, "Duplicate", "The resource already exists")
        self.buckets[body["id"]] = body
        return web.json_response({"name": body["id"]})

    async def _upload(self, request: web.Request) -> web.Response:
        if self.upload_failures:
            failure = self.upload_failures.pop(0)
            if failure == "hang":
                await self._never.wait()
            assert isinstance(failure, tuple)
            return web.json_response(failure[1], status=failure[0])
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        if bucket not in self.buckets:
            return _error(400, "Bucket not found", "Bucket not found", status_code="404")
        data, content_type = b"", ""
        async for part in await request.multipart():  # type: ignore[union-attr]
            if part.name == "file":
                data, content_type = await part.read(), part.headers.get("Content-Type", "")
        self.objects[(bucket, key)] = (data, content_type)
        return web.json_response({"Key": f"{bucket}/{key}", "Id": key})

    async def _download(self, request: web.Request) -> web.Response:
        found = self.objects.get((request.match_info["bucket"], request.match_info["key"]))
        if found is None:
            return _error(400, "not_found", "Object not found", status_code="404")
        return web.Response(body=found[0], content_type=found[1])

    async def _sign(self, request: web.Request) -> web.Response:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        if (bucket, key) not in self.objects:
            return _error(400, "not_found", "Object not found", status_code="404")
        return web.json_response({"signedURL": f"/object/sign/{bucket}/{key}?token=signed-{key}"})

    async def _signed_get(self, request: web.Request) -> web.Response:
        bucket, key = request.match_info["bucket"], request.match_info["key"]
        found = self.objects.get((bucket, key))
        if found is None or request.query.get("token") != f"signed-{key}":
            return _error(400, "InvalidSignature", "invalid signature")
        disposition = f'attachment; filename="{request.query.get("download", key)}"'
        return web.Response(
            body=found[0], content_type=found[1], headers={"Content-Disposition": disposition}
        )

    async def _remove(self, request: web.Request) -> web.Response:
        bucket = request.match_info["bucket"]
        removed = [
            k for k in (await request.json())["prefixes"] if self.objects.pop((bucket, k), None)
        ]
        return web.json_response([{"name": k} for k in removed])


def _error(status: int, error: str, message: str, status_code: str | None = None) -> web.Response:
    body = {"statusCode": status_code or str(status), "error": error, "message": message}
    return web.json_response(body, status=status)
