"""The Makefile's virtual environment: made once, re-installed only when pyproject.toml changes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def _dry_run(target: str, venv: Path) -> list[str]:
    # As if typed at a shell: not under an outer make (make test), in make's own words.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(CHECKOUT), target, f"VENV={venv}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**env, "LC_ALL": "C"},
    )
    return done.stdout.splitlines()


def test_install_runs_pip_in_the_venv_only_when_pyproject_changed(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # No environment yet: create it, then install into it (never into the system's Python).
    commands = _dry_run("install", venv)
    assert commands[0].startswith(f"python3 -m venv {venv} ")
    assert "apt-get install -y -qq python3-venv" in commands[1]
    assert [c for c in commands if "pip install" in c] == [
        f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check -e ."
    ]

    (venv / "bin").mkdir(parents=True)
    (venv / "bin/python").touch()
    stamp = venv / ".installed"
    stamp.touch()
    newer = (CHECKOUT / "pyproject.toml").stat().st_mtime + 10
    os.utime(stamp, (newer, newer))
    assert _dry_run("install", venv) == ["make: Nothing to be done for 'install'."]  # no pip

    older = newer - 20
    os.utime(stamp, (older, older))
    assert [c for c in _dry_run("install", venv) if "pip install" in c] == [
        f"{venv}/bin/python -m pip install --quiet --disable-pip-version-check -e ."
    ]


def test_run_and_test_use_the_venv_commands(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _dry_run("run", venv)[-1] == f"{venv}/bin/parley serve"
    assert _dry_run("test", venv)[-1] == f"{venv}/bin/python -m pytest -q -p no:cacheprovider"
    ci = (CHECKOUT / ".ci/run").read_text().strip().splitlines()
    assert ci[-1] == "make test"
