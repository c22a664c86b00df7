# Engine.IO's per-connection socket, which Parley subclasses (members loosely typed).
from typing import Any

class AsyncSocket:
    server: Any
    sid: str
    queue: Any
    last_ping: float | None
    connected: bool
    upgrading: bool
    upgraded: bool
    closing: bool
    closed: bool
    def __init__(self, server: Any, sid: str) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    async def send(self, pkt: Any) -> None: ...
    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None: ...
    def schedule_ping(self) -> None: ...
