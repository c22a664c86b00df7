"""Time from `make run` to a ready server (/readyz answers 200), in a checkout.

    python3 bench/startup.py [--checkout DIR] [--runs N] [--port P] [--baseline]

Run it in a fresh clone once for the cold start (virtual environment, npm, first migrations),
then again for warm starts. Each run is stopped as soon as it is ready. --baseline also times
`.venv/bin/parley serve` alone, in the same run: what make itself adds is the difference.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def one_start(checkout: Path, port: int, limit: float, command: list[str]) -> float:
    env = {**os.environ, "PORT": str(port), "PARLEY_HOST": "127.0.0.1"}
    began = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        while time.perf_counter() - began < limit:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - began
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.05)
        raise TimeoutError(f"not ready within {limit} s")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--limit", type=float, default=900.0)
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args()
    commands = {"make run": ["make", "--no-print-directory", "run"]}
    if args.baseline:
        commands["parley serve"] = [str(args.checkout / ".venv/bin/parley"), "serve"]
    for name, command in commands.items():
        times = [one_start(args.checkout, args.port, args.limit, command) for _ in range(args.runs)]
        print(f"{name} -> /readyz, seconds:", ", ".join(f"{t:.2f}" for t in times))
        if len(times) > 1:
            low, high = min(times), max(times)
            print(f"  median {statistics.median(times):.2f}  min {low:.2f}  max {high:.2f}")


if __name__ == "__main__":
    main()
