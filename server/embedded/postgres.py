"""Embedded PostgreSQL 18 + pgvector as a child process; EmbeddedPostgres says where data lives."""

from __future__ import annotations

import atexit
import logging
import re
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from server.embedded.pg_cluster import (
    ROLE,
    EmbeddedPostgresError,
    ServerAccount,
    clear_stale_pid_file,
    cluster_dir_for,
    env_without_pg_variables,
    initialize_cluster,
    installation_for,
    server_account,
)
from server.embedded.processes import (
    HOST,
    SupervisedChild,
    connect_error,
    die_with_parent,
    find_free_port,
    log_since,
    port_is_free,
    stop_child,
)

logger = logging.getLogger(__name__)

DATABASE = "parley"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

__all__ = ["EmbeddedPostgres", "EmbeddedPostgresError"]


def _quote_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


class _PortTaken(EmbeddedPostgresError):
    pass


class EmbeddedPostgres(SupervisedChild):
    """A private PostgreSQL 18 server (with pgvector) for development and tests.

    The cluster lives in `data_dir/pgdata` and the server log in `data_dir/postgres.log`.
    PostgreSQL refuses to run as root, so as root the server runs as `nobody`; when `nobody`
    cannot traverse `data_dir` (a home directory is typically 0700) the cluster goes to
    /var/lib/parley/pgdata-<hash of data_dir> instead (logged, and in `cluster_dir`).
    The server listens on 127.0.0.1 only (no Unix socket) with trust auth for the `parley`
    superuser: any local user can connect, which is what a dev server on loopback implies.
    Start it from the main thread: see `die_with_parent`.
    """

    def __init__(self, data_dir: Path, port: int | None = None, *, durable: bool = True) -> None:
        self._data_dir = Path(data_dir).absolute()
        self._requested_port = port
        self._durable = durable
        self._account = ServerAccount()
        self._install: Path | None = None
        self._cluster_dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None
        self._log_offset = 0

    @property
    def log_path(self) -> Path:
        return self._data_dir / "postgres.log"

    @property
    def cluster_dir(self) -> Path:
        if self._cluster_dir is None:
            raise EmbeddedPostgresError("the cluster location is known once start() ran")
        return self._cluster_dir

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def port(self) -> int:
        if self._port is None or self._process is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL server is not running")
        return self._port

    @property
    def dsn(self) -> str:
        return self._dsn_for(DATABASE)

    def start(self, timeout: float = 30.0) -> str:
        """Start the server (initializing the cluster on first use); return the parley DSN."""
        if self._process is not None:
            return self.dsn
        if self._requested_port is not None and not port_is_free(self._requested_port):
            raise EmbeddedPostgresError(f"port {self._requested_port} on {HOST} is already in use")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        self._account = server_account()
        self._install = installation_for(self._account)
        cluster = self._cluster_dir = cluster_dir_for(self._data_dir.resolve(), self._account)
        if not (cluster / "PG_VERSION").is_file():
            logger.info("initializing a PostgreSQL cluster in %s", cluster)
            initialize_cluster(cluster, self._install, self._account, self._durable)
        clear_stale_pid_file(cluster)
        self._launch(time.monotonic() + timeout)
        atexit.register(self.stop)
        self._ensure_database(DATABASE)
        return self.dsn

    def stop(self) -> None:
        """Fast shutdown (roll back, disconnect clients), escalating if the server hangs."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is None:
            return
        stop_child(process, [(signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0)])
        logger.info("PostgreSQL on port %s stopped", self._port)

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database `name` (a copy of `template` if given) and return its DSN.

        Copying needs the template to have no other sessions; close pools on it first.
        """
        sql = f"CREATE DATABASE {_quote_identifier(name)}"
        if template is not None:
            sql += f" TEMPLATE {_quote_identifier(template)}"
        self._psql(sql)
        return self._dsn_for(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name` if it exists, disconnecting its sessions (tests leak pools)."""
        self._psql(f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)")

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

    def _dsn_for(self, database: str) -> str:
        return f"postgresql://{ROLE}@{HOST}:{self.port}/{database}"

    def _launch(self, deadline: float) -> None:
        # A port picked by find_free_port can be taken before postgres binds it: pick again.
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            self._port = self._requested_port or find_free_port()
            self._process = self._spawn(self._port)
            try:
                self._wait_until_ready(self._process, deadline)
                logger.info(
                    "PostgreSQL ready on %s:%d (pid %d)", HOST, self._port, self._process.pid
                )
                return
            except _PortTaken:
                self._process = None
                if attempt == attempts:
                    raise
            except BaseException:
                stop_child(self._process, [(signal.SIGQUIT, 5.0)])
                self._process = None
                raise

    def _settings(self, port: int) -> list[str]:
        settings = {
            "port": str(port),
            "listen_addresses": HOST,
            "unix_socket_directories": "",  # TCP only: no socket file to place or clean up
            "shared_buffers": "128MB",
            "max_connections": "200",
            "log_line_prefix": "%m [%p] ",
        }
        if not self._durable:
            # Tests: losing data on a crash is fine, waiting for the disk is not.
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return [arg for name, value in settings.items() for arg in ("-c", f"{name}={value}")]

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        assert self._install is not None and self._cluster_dir is not None
        argv = [str(self._install / "bin" / "postgres"), "-D", str(self._cluster_dir)]
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            return subprocess.Popen(
                [*argv, *self._settings(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._cluster_dir,
                env=env_without_pg_variables(),
                # Own session: a Ctrl-C in the terminal reaches us, not the server, so we can
                # shut down in order. SIGINT on parent death is PostgreSQL's fast shutdown.
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGINT),
                user=self._account.uid,
                group=self._account.gid,
                extra_groups=self._account.extra_groups,
            )

    def _wait_until_ready(self, process: subprocess.Popen[bytes], deadline: float) -> None:
        while True:
            if process.poll() is not None:
                log = log_since(self.log_path, self._log_offset)
                error = _PortTaken if "Address already in use" in log else EmbeddedPostgresError
                raise error(
                    f"postgres exited with status {process.returncode} during startup; "
                    f"{self.log_path}:\n{log}"
                )
            if self._accepts_connections() and self._answers_queries():
                return
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(
                    f"PostgreSQL was not ready in time; {self.log_path}:\n"
                    + log_since(self.log_path, self._log_offset)
                )
            time.sleep(0.05)

    def _accepts_connections(self) -> bool:
        return connect_error(HOST, self.port, timeout=1) is None

    def _answers_queries(self) -> bool:
        try:
            self._psql("SELECT 1")
        except EmbeddedPostgresError:  # e.g. "the database system is starting up"
            return False
        return True

    def _ensure_database(self, name: str) -> None:
        quoted = _quote_identifier(name)  # also vouches for `name` inside the literal below
        if not self._psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip():
            self._psql(f"CREATE DATABASE {quoted}")

    def _psql(self, sql: str) -> str:
        """Run one statement as the parley superuser in the `postgres` maintenance database."""
        assert self._install is not None
        argv = [str(self._install / "bin" / "psql"), "-X", "-q", "-A", "-t"]
        argv += ["-v", "ON_ERROR_STOP=1", "-d", self._dsn_for("postgres"), "-c", sql]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**env_without_pg_variables(), "PGCONNECT_TIMEOUT": "5"},
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"{sql!r} failed: {result.stderr.strip()}")
        return result.stdout
