"""Turning asyncpg records into domain structs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import asyncpg
import msgspec

T = TypeVar("T")


def to_struct(kind: type[T], record: asyncpg.Record | dict[str, Any]) -> T:
    return msgspec.convert(dict(record), kind, strict=False)


def to_structs(kind: type[T], records: Iterable[asyncpg.Record]) -> list[T]:
    return [to_struct(kind, record) for record in records]
