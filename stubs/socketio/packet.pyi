from typing import Any

CONNECT: int
DISCONNECT: int
EVENT: int
ACK: int
CONNECT_ERROR: int
BINARY_EVENT: int
BINARY_ACK: int

class Packet:
    def __init__(self, *args: Any, **kwargs: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...
    @classmethod
    def data_is_binary(cls, data: Any) -> bool: ...
