"""The deployment files, checked with the real tools this machine has (no Docker daemon here)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

from server.cli import build_parser
from server.config import Settings
from tests.support import start_server

CHECKOUT = Path(__file__).resolve().parents[2]


def _parley_script() -> str:
    script = Path(sys.executable).parent / "parley"
    found = str(script) if script.exists() else shutil.which("parley")
    assert found, "the parley command is not installed (make install-test)"
    return found


def test_systemd_units_verify_cleanly(tmp_path: Path) -> None:
    parley = _parley_script()
    for unit in ("parley.service", "parley@.service"):
        text = (CHECKOUT / "deploy/systemd" / unit).read_text()
        assert "ExecStart=/opt/parley/venv/bin/parley serve" in text
        # verify checks that the commands exist: point them at this machine's parley.
        (tmp_path / unit).write_text(text.replace("/opt/parley/venv/bin/parley", parley))
    done = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            str(tmp_path / "parley.service"),
            str(tmp_path / "parley@8081.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    template = (tmp_path / "parley@.service").read_text()
    assert "PORT=%i" in template and "PARLEY_HOST=127.0.0.1" in template


def _compose_config(**environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "POSTGRES_"))}
    return subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(CHECKOUT),
            "-f",
            str(CHECKOUT / "docker-compose.yml"),
            "config",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, **environment},
    )


def test_compose_runs_two_processes_behind_nginx_with_pgvector_and_redis() -> None:
    done = _compose_config(
        PARLEY_SECRET_KEY="s" * 40, PARLEY_ALLOWED_ORIGINS="https://shop.example"
    )
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load(done.stdout)
    services = config["services"]
    assert set(services) == {"postgres", "redis", "migrate", "parley-1", "parley-2", "nginx"}
    assert "pgvector" in services["postgres"]["image"]
    assert services["redis"]["image"].startswith("redis:")
    assert services["migrate"]["command"] == ["parley", "migrate"]
    for name, port in (("parley-1", "8081"), ("parley-2", "8082")):
        process = services[name]
        assert process["build"]["context"] == str(CHECKOUT)
        assert process["network_mode"] == "service:nginx"
        assert process["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = process["environment"]
        assert (env["PORT"], env["PARLEY_INSTANCE"]) == (port, name)
        assert env["PARLEY_SECRET_KEY"] == "s" * 40
        assert env["PARLEY_ALLOWED_ORIGINS"] == "https://shop.example"
        assert env["DATABASE_URL"].startswith("postgresql://parley:") and env[
            "DATABASE_URL"
        ].endswith("@postgres:5432/parley")
        assert env["REDIS_URL"] == "redis://redis:6379/0"
    conf, upstream, listen = services["nginx"]["volumes"]
    assert conf.startswith(f"{CHECKOUT}/deploy/nginx/parley.conf:/etc/nginx/conf.d/default.conf")
    # What parley.conf includes: the two processes above, and the port published below.
    assert upstream.startswith(f"{CHECKOUT}/deploy/nginx/compose/parley-upstream.conf:/etc/nginx/")
    assert listen.startswith(f"{CHECKOUT}/deploy/nginx/compose/parley-listen.conf:/etc/nginx/")
    upstream_file = (CHECKOUT / "deploy/nginx/compose/parley-upstream.conf").read_text()
    assert "127.0.0.1:8081" in upstream_file and "127.0.0.1:8082" in upstream_file
    assert services["nginx"]["ports"][0]["published"] == 8080


def test_compose_refuses_to_start_without_a_shared_secret() -> None:
    done = _compose_config(PARLEY_ALLOWED_ORIGINS="https://shop.example")
    assert done.returncode != 0
    assert "PARLEY_SECRET_KEY" in done.stderr


def test_compose_refuses_to_start_without_the_allowed_origins() -> None:
    done = _compose_config(PARLEY_SECRET_KEY="s" * 40)
    assert done.returncode != 0
    assert "PARLEY_ALLOWED_ORIGINS" in done.stderr


def test_dockerfile_builds_assets_and_wheel_then_runs_unprivileged_with_a_health_check() -> None:
    parser = DockerfileParser(path=str(CHECKOUT / "Dockerfile"))
    stages = [i for i in parser.structure if i["instruction"] == "FROM"]
    assert [s["value"].split()[-1] for s in stages[:2]] == ["assets", "wheel"]
    assert len(stages) == 3
    final = [i for i in parser.structure if i["startline"] > stages[2]["startline"]]
    by_kind: dict[str, list[str]] = {}
    for instruction in parser.structure:
        by_kind.setdefault(instruction["instruction"], []).append(instruction["value"])
    runs = " ".join(by_kind["RUN"])
    assert (
        "npm ci" in runs and "npm run --silent build" in runs and "python -m build --wheel" in runs
    )
    [user] = [i["value"] for i in final if i["instruction"] == "USER"]
    assert user == "parley"
    [health] = [i["value"] for i in final if i["instruction"] == "HEALTHCHECK"]
    assert "/readyz" in health
    assert [i["value"] for i in final if i["instruction"] == "CMD"] == ['["parley", "serve"]']
    # Everything copied from the build context exists and is not excluded by .dockerignore.
    ignored = {
        line.strip()
        for line in (CHECKOUT / ".dockerignore").read_text().splitlines()
        if line.strip()
    }
    for value in by_kind["COPY"]:
        if value.startswith("--from="):
            continue
        for source in value.split()[:-1]:
            assert (CHECKOUT / source).exists(), source
            assert source not in ignored, source
    assert (CHECKOUT / "server/sql").resolve() == CHECKOUT / "sql"


def test_procfile_runs_the_release_and_web_commands_parley_understands() -> None:
    lines = dict(
        line.split(": ", 1)
        for line in (CHECKOUT / "Procfile").read_text().splitlines()
        if line.strip()
    )
    assert set(lines) == {"release", "web"}
    for command in lines.values():
        program, *args = command.split()
        assert program == "parley"
        build_parser().parse_args(args)


async def test_the_images_health_check_command_follows_readyz(settings: Settings) -> None:
    parser = DockerfileParser(path=str(CHECKOUT / "Dockerfile"))
    [health] = [i["value"] for i in parser.structure if i["instruction"] == "HEALTHCHECK"]
    command = json.loads(health[health.index("CMD") + 3 :].strip())
    assert command[0] == "python"
    running = await start_server(settings)
    try:
        env = {**os.environ, "PORT": str(running.port)}
        ready = await asyncio.create_subprocess_exec(sys.executable, *command[1:], env=env)
        assert await ready.wait() == 0
    finally:
        await running.stop()
    gone = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env=env, stderr=asyncio.subprocess.DEVNULL
    )
    assert await gone.wait() != 0
