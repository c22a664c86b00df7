"""The baseline for bench/throughput.py: a bare python-socketio room server, no persistence.

It speaks the subset of Parley's protocol the load generator uses (agent sign-in over REST,
`start_conversation` on /customer, `join` on /agent, `send_message` and the `message` event on
both) with the best-known tuning of the library (FACTS.md): uvloop, msgspec as the JSON
module, `async_handlers=False`, raised GC thresholds. What Parley costs beyond this is the
price of its persistence, routing and checks.

    python -m bench.bare_server --port 8081
"""

from __future__ import annotations

import argparse
import gc
import itertools
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import msgspec
import socketio
import uvloop
from aiohttp import web

NAMESPACES = ("/customer", "/agent")


class _MsgspecJson:
    """python-socketio's `json=` module: `dumps` must return str."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        return msgspec.json.encode(obj).decode()

    @staticmethod
    def loads(data: str | bytes, *args: Any, **kwargs: Any) -> Any:
        return msgspec.json.decode(data)


def create_app() -> web.Application:
    sio = socketio.AsyncServer(
        async_mode="aiohttp", async_handlers=False, json=_MsgspecJson, cors_allowed_origins="*"
    )
    app = web.Application()
    sio.attach(app)
    last_seq: defaultdict[str, int] = defaultdict(int)
    message_ids = itertools.count(1)

    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        return True

    async def start_conversation(sid: str, data: Any) -> dict[str, Any]:
        conversation_id = str(uuid.uuid4())
        await sio.enter_room(sid, conversation_id, namespace="/customer")
        return {"ok": True, "data": {"conversation": {"id": conversation_id}, "created": True}}

    async def join(sid: str, data: Any) -> dict[str, Any]:
        conversation_id = data["conversation_id"]
        await sio.enter_room(sid, conversation_id, namespace="/agent")
        return {"ok": True, "data": {"conversation": {"id": conversation_id}}}

    def send_message_in(namespace: str) -> Any:
        async def send_message(sid: str, data: Any) -> dict[str, Any]:
            conversation_id = data["conversation_id"]
            last_seq[conversation_id] += 1
            message = {
                "id": str(next(message_ids)),
                "conversation_id": conversation_id,
                "seq": last_seq[conversation_id],
                "client_id": data["client_id"],
                "body": data.get("body", ""),
                "sender_type": namespace.strip("/"),
                "created_at": datetime.now(UTC).isoformat(),
            }
            for audience in NAMESPACES:
                await sio.emit("message", message, room=conversation_id, namespace=audience)
            return {
                "ok": True,
                "data": {
                    "message_id": message["id"],
                    "conversation_id": conversation_id,
                    "seq": message["seq"],
                    "client_id": message["client_id"],
                    "created_at": message["created_at"],
                    "duplicate": False,
                },
            }

        return send_message

    for namespace in NAMESPACES:
        sio.on("connect", connect, namespace=namespace)
        sio.on("send_message", send_message_in(namespace), namespace=namespace)
    sio.on("start_conversation", start_conversation, namespace="/customer")
    sio.on("join", join, namespace="/agent")

    async def login(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"data": {"token": f"bare:{body['email']}"}})

    async def ready(request: web.Request) -> web.Response:
        return web.json_response({"status": "ready"})

    app.router.add_post("/api/v1/auth/login", login)
    app.router.add_get("/readyz", ready)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    # aiohttp's default; a storm larger than the queue waits for the kernel's SYN retries.
    parser.add_argument("--backlog", type=int, default=128, help="the listen queue's depth")
    args = parser.parse_args()
    gc.set_threshold(50_000, 50, 1_000)
    web.run_app(
        create_app(),
        host="127.0.0.1",
        port=args.port,
        backlog=args.backlog,
        print=None,
        loop=uvloop.new_event_loop(),
        shutdown_timeout=1,
    )


if __name__ == "__main__":
    main()
