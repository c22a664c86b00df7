"""Keeping the embedded servers alive: one that dies is started again on its own port."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

logger = logging.getLogger(__name__)


class Restartable(Protocol):
    @property
    def alive(self) -> bool: ...

    def restart(self) -> str: ...


class Supervisor:
    """Checks the embedded servers every `interval` seconds and restarts a dead one.

    A thread, not a task: the servers are child processes tied to the thread that started
    them (a parent-death signal), and this thread lives exactly as long as the owner process.
    Other processes pointed at these servers lose them when the owner process exits.
    """

    def __init__(self, servers: dict[str, Restartable], interval: float = 1.0) -> None:
        self._servers = servers
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="embedded-supervisor", daemon=True)
        self.restarts: dict[str, int] = dict.fromkeys(servers, 0)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval + 30)

    def _watch(self) -> None:
        while not self._stopping.wait(self._interval):
            for name, server in self._servers.items():
                if server.alive or self._stopping.is_set():
                    continue
                logger.warning("embedded %s died; restarting it on its port", name)
                try:
                    url = server.restart()
                except Exception:
                    logger.exception("embedded %s did not restart; trying again", name)
                    continue
                self.restarts[name] += 1
                logger.warning("embedded %s restarted (%s)", name, url)
