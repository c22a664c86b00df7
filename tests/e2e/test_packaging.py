"""The built wheel alone is a working server: migrations and static assets ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import aiohttp

from server.embedded import EmbeddedPostgres
from tests.conftest import test_settings as wheel_settings
from tests.support import settings_environment, spawn_server

CHECKOUT = Path(__file__).resolve().parents[2]
BUILT = {
    "/widget.js": CHECKOUT / "server/static/widget/widget.js",
    "/console/": CHECKOUT / "server/static/console/index.html",
    "/demo/": CHECKOUT / "server/static/demo/index.html",
}


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _install_wheel(tmp_path: Path) -> Path:
    """Build the wheel and install it into a new virtual environment outside the checkout."""
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(CHECKOUT)], cwd=tmp_path)
    wheels = list(dist.glob("parley-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    # The heavy dependencies (onnxruntime, numpy...) come from this interpreter's environment
    # instead of the network. A path in a .pth file is not itself scanned for .pth files, so an
    # editable install of the checkout there stays invisible to the new environment.
    purelib = _run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=tmp_path
    )
    outer = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    Path(purelib.strip(), "outer-dependencies.pth").write_text("\n".join(sorted(outer)) + "\n")
    _run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheels[0])], cwd=tmp_path
    )
    return venv


async def test_the_wheel_migrates_and_serves_from_outside_the_checkout(
    embedded_postgres: EmbeddedPostgres, redis_url: str, tmp_path: Path
) -> None:
    missing = [str(path) for path in BUILT.values() if not path.is_file()]
    assert not missing, f"build the widget and console first (make widget console): {missing}"
    venv = _install_wheel(tmp_path)
    where = _run(
        [str(venv / "bin/python"), "-c", "import server; print(server.__file__)"], cwd=tmp_path
    )
    assert Path(where.strip()).is_relative_to(venv), where

    settings = wheel_settings(
        embedded_postgres.create_database("parley_wheel"), redis_url, tmp_path / "data"
    )
    env = {**os.environ, **settings_environment(settings)}
    env.pop("PARLEY_SQL_DIR", None)
    migrated = _run([str(venv / "bin/parley"), "migrate"], cwd=tmp_path, env=env)
    assert "0001_core" in migrated and "0007_assign" in migrated, migrated

    server = await spawn_server(
        settings, command=[str(venv / "bin/parley"), "serve"], cwd=str(tmp_path), timeout=60
    )
    try:
        async with aiohttp.ClientSession() as http:
            for route, built in BUILT.items():
                async with http.get(server.url + route) as response:
                    assert response.status == 200, route
                    assert await response.read() == built.read_bytes(), route
    finally:
        server.stop()
    assert server.process.returncode == 0
