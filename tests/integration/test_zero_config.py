"""`parley serve` with no DATABASE_URL / REDIS_URL starts real embedded services by itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from server.embedded.sharing import RUNNING_FILE
from tests.support import eventually_sync, free_port


def _wait_ready(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    def ready() -> bool:
        assert process.poll() is None, "parley serve exited early"
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    eventually_sync(ready, timeout=timeout, interval=0.2)


def _serve(data_dir: Path, port: int) -> subprocess.Popen:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "PARLEY_SECRET_KEY"}
    }
    env.update({"PARLEY_DATA_DIR": str(data_dir), "PORT": str(port), "PARLEY_LOG_LEVEL": "WARNING"})
    return subprocess.Popen(
        [sys.executable, "-m", "server", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_zero_config_start_creates_demo_accounts_once_and_stops_its_services() -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="parley-zero-"))
    data_dir.chmod(0o755)
    outputs = []
    for _ in range(2):
        port = free_port()
        process = _serve(data_dir, port)
        try:
            _wait_ready(f"http://127.0.0.1:{port}", process)
        finally:
            process.terminate()
            out, _ = process.communicate(timeout=30)
        outputs.append(out)
        assert process.returncode == 0, out
    first, second = outputs
    assert "admin@parley.local" in first and "password:" in first
    assert "admin@parley.local" not in second  # credentials are printed once, on first start
    assert (data_dir / "secret_key").exists()
    # The embedded servers stopped with the process: nothing still holds the data directory.
    leftovers = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""


def _command(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"PARLEY_DATA_DIR": str(data_dir), "PARLEY_LOG_LEVEL": "WARNING"})
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _request(url: str, body: dict[str, str] | None = None, token: str = "") -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_commands_run_beside_a_zero_config_server_use_its_embedded_services(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "reset-password.md").write_text(
        "# Reset your password\n\nOpen Settings, choose Security and press Reset password.\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _serve(data_dir, port)
    try:
        _wait_ready(url, server)
        recorded = json.loads((data_dir / RUNNING_FILE).read_text())
        assert recorded["pid"] == server.pid
        assert set(recorded["urls"]) == {"database_url", "redis_url"}

        created = _command(
            data_dir,
            "agents",
            "create",
            "lead@example.com",
            "--admin",
            "--password-stdin",
            stdin="Harbour-Lantern-42\n",
        )
        assert created.returncode == 0, created.stderr
        imported = _command(data_dir, "kb", "import", str(articles))
        assert imported.returncode == 0, imported.stderr
        assert "1 created" in imported.stdout

        # Both landed in the running server's database: the new admin signs in there and
        # sees the article.
        status, answer = _request(
            f"{url}/api/v1/auth/login",
            {"email": "lead@example.com", "password": "Harbour-Lantern-42"},
        )
        assert status == 200, answer
        token = answer["data"]["token"]
        status, answer = _request(f"{url}/api/v1/knowledge/articles/reset-password", token=token)
        assert status == 200 and answer["data"]["article"]["title"] == "Reset your password", answer

        # A second server on the same data directory is refused in one line, not a traceback.
        second = _command(data_dir, "serve", "--port", str(free_port()))
        assert second.returncode == 1
        assert f"another Parley server (pid {server.pid})" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    assert server.returncode == 0, out
    assert not (data_dir / RUNNING_FILE).exists()
    leftovers = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""


def test_a_command_after_the_server_was_killed_starts_its_own_services(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    port = free_port()
    server = _serve(data_dir, port)
    try:
        _wait_ready(f"http://127.0.0.1:{port}", server)
    finally:
        server.kill()  # no clean exit: the record of its services stays behind
        server.communicate(timeout=30)
    assert (data_dir / RUNNING_FILE).exists()

    listed = _command(data_dir, "agents", "list")
    assert listed.returncode == 0, listed.stderr
    assert "admin@parley.local" in listed.stdout  # the same cluster, started anew
    leftovers = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""


def test_a_port_in_use_is_reported_in_one_line_and_stops_the_embedded_services(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o755)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _command(data_dir, "serve", "--port", str(port))
    assert refused.returncode == 1
    assert f"cannot listen on 127.0.0.1 port {port}: Address already in use" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (data_dir / RUNNING_FILE).exists()
    leftovers = subprocess.run(["pgrep", "-f", str(data_dir)], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
