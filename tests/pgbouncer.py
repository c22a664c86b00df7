"""Debian's PgBouncer in transaction mode in front of the embedded PostgreSQL, as Supabase's pooler."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from server.embedded.processes import die_with_parent, stop_child
from tests.support import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


class PgBouncer:
    """A PgBouncer process: every database of `server_port`, few server connections per pool,
    so clients really do share server sessions between their transactions."""

    def __init__(self, directory: Path, server_port: int, users: tuple[str, ...]) -> None:
        self.directory = directory
        self.server_port = server_port
        self.users = users
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> PgBouncer:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        self.port = free_port()
        (self.directory / "users.txt").write_text("".join(f'"{u}" ""\n' for u in self.users))
        config = self.directory / "pgbouncer.ini"
        config.write_text(
            f"""[databases]
* = host=127.0.0.1 port={self.server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.directory / "users.txt"}
pool_mode = transaction
default_pool_size = 4
max_client_conn = 400
logfile = {self.directory / "pgbouncer.log"}
pidfile =
"""
        )
        argv = [PGBOUNCER, str(config)]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root; it writes its log here
            nobody = pwd.getpwnam("nobody")
            os.chown(self.directory, nobody.pw_uid, nobody.pw_gid)
            argv[1:1] = ["-u", nobody.pw_name]
        self._process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        deadline = time.monotonic() + timeout
        while not self._accepts():
            if time.monotonic() > deadline or self._exited_within(0.05):
                raise RuntimeError(f"pgbouncer did not start: {self.log()}")
        return self

    def _exited_within(self, seconds: float) -> bool:
        assert self._process is not None
        try:
            self._process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def dsn(self, database: str, user: str = "parley") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_child(process, [(signal.SIGINT, 10.0), (signal.SIGKILL, 5.0)])

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False
