"""`parley serve` with no DATABASE_URL / REDIS_URL starts real embedded services by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

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
