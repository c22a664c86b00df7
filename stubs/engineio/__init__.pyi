# A small local stub for python-engineio (no type information shipped): the server class
# Parley subclasses. Members stay loosely typed (Any), as in the library.
from typing import Any

class AsyncServer:
    _async: dict[str, Any]
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    async def handle_request(self, *args: Any, **kwargs: Any) -> Any: ...
    async def _handle_connect(
        self, environ: Any, transport: str, jsonp_index: Any = None
    ) -> Any: ...
    sockets: dict[str, Any]
    start_service_task: bool
    service_task_handle: Any
