"""Running a server binary as a child process: free ports, dying with the parent, stopping in
steps, and the log tail that explains a failed start. Shared by embedded PostgreSQL and Valkey."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def find_free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago; the kernel picks it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on `port`; a socket in TIME_WAIT does not count as taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR; with it only another listener makes bind fail.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def connect_error(host: str, port: int, timeout: float) -> OSError | None:
    """Why nothing accepts a TCP connection at host:port, or None when something does."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return exc


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def die_with_parent(sig: signal.Signals) -> Callable[[], None] | None:
    """A Popen preexec_fn that makes Linux send `sig` to the child when this process dies.

    Linux ties the parent-death signal to the thread that forked, not to the process, so a
    child started from a short-lived worker thread would be killed when that thread ends.
    We only arm it from the main thread; atexit still stops servers started elsewhere.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here, not in the forked child
    parent_pid = os.getpid()

    def arm_parent_death_signal() -> None:
        # Popen runs this after switching user: a credential change clears the setting.
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the setting took effect
            os._exit(1)

    return arm_parent_death_signal


def stop_child(
    process: subprocess.Popen[bytes], signals: Sequence[tuple[signal.Signals, float]]
) -> None:
    """Send each signal in turn, waiting up to its grace period, until the process has exited."""
    for sig, grace_seconds in signals:
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            logger.warning("pid %d ignored %s for %.0fs", process.pid, sig.name, grace_seconds)
    if process.poll() is None:
        process.kill()
        process.wait()


def log_since(path: Path, offset: int, max_chars: int = 4000) -> str:
    """What a server logged after `offset`, trimmed to the last `max_chars` characters."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError as exc:
        return f"(log unreadable: {exc})"
    return text[-max_chars:]


class SupervisedChild:
    """What an embedded server (PostgreSQL, Valkey) offers its supervisor: whether its child
    process still runs, and a restart on the same port, so every URL handed out stays valid
    and the processes using it reconnect by themselves."""

    _process: subprocess.Popen[bytes] | None
    _port: int | None
    _requested_port: int | None
    # How long a restart waits for the server to answer again.
    restart_seconds: float = 30.0

    def start(self, timeout: float) -> str:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        """Started and still running (False after a crash or a kill)."""
        return self._process is not None and self._process.poll() is None

    def restart(self, timeout: float | None = None) -> str:
        """Start again on the same port, after a crash or a stop."""
        port = self._port  # set once it was started: the same port again
        self.stop()
        self._requested_port = port
        return self.start(self.restart_seconds if timeout is None else timeout)
