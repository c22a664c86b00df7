"""Log output: plain lines for a terminal, or one JSON object per line with the request's ids."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

# What a log line is about, where known: set around each HTTP request and socket event, and
# inherited by the tasks they start.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("connection_id", default=None)
conversation_id: ContextVar[str | None] = ContextVar("conversation_id", default=None)
agent_id: ContextVar[str | None] = ContextVar("agent_id", default=None)

_CONTEXT = (request_id, connection_id, conversation_id, agent_id)
_PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


_VARIABLES = {var.name: var for var in _CONTEXT}


@contextmanager
def bound(**values: str | None) -> Iterator[None]:
    """Set some of the ids for the duration of a block (None leaves one as it was)."""
    variables = _VARIABLES
    tokens = [
        (variables[name], variables[name].set(value))
        for name, value in values.items()
        if value is not None
    ]
    try:
        yield
    finally:
        for variable, token in reversed(tokens):
            variable.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, the known ids, any traceback."""

    def __init__(self, instance: str = "") -> None:
        super().__init__()
        self._instance = instance

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self._instance:
            entry["instance"] = self._instance
        for variable in _CONTEXT:
            value = variable.get()
            if value is not None:
                entry[variable.name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, log_format: str = "plain", instance: str = "") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter(instance))
    else:
        handler.setFormatter(logging.Formatter(_PLAIN))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
