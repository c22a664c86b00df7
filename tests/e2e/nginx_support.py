"""A real nginx (Debian's package) running the project's own configuration, deploy/nginx/parley.conf,
in front of test processes."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support import eventually, free_port

NGINX = Path("/usr/sbin/nginx")
PARLEY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "parley.conf"


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def routed(self) -> dict[str, str]:
        """Client address -> the upstream that served it, from the access log."""
        found: dict[str, str] = {}
        for line in (self.directory / "access.log").read_text().splitlines():
            client, _, upstream = line.partition(" ")
            found[client] = upstream.split(",")[-1].strip()
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _configure(directory: Path, upstream_ports: list[int]) -> int:
    """Write the main configuration (test paths) around the project's parley.conf."""
    if not NGINX.exists():
        raise RuntimeError(f"{NGINX} is missing; `make test` installs Debian's nginx")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "".join(f"server 127.0.0.1:{p} max_fails=0;\n" for p in upstream_ports)
    (directory / "parley-upstream.conf").write_text(servers)
    (directory / "parley-listen.conf").write_text(f"listen 127.0.0.1:{port};\n")
    temp = directory / "temp"
    temp.mkdir(exist_ok=True)
    user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"""
{user}
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format routed '$remote_addr $upstream_addr';
    access_log {directory}/access.log routed;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {PARLEY_CONF};
}}
"""
    )
    return port


async def start_nginx(directory: Path, upstream_ports: list[int]) -> Nginx:
    port = _configure(directory, upstream_ports)
    process = subprocess.Popen(
        [
            str(NGINX),
            "-p",
            str(directory),
            "-c",
            str(directory / "nginx.conf"),
            "-e",
            str(directory / "error.log"),
        ],
    )
    handle = Nginx(process, port, directory)

    async def serving() -> bool:
        if process.poll() is not None:
            raise RuntimeError((directory / "error.log").read_text())
        try:
            async with http.get(f"{handle.url}/healthz") as response:
                return response.status == 200
        except aiohttp.ClientError:
            return False

    async with aiohttp.ClientSession() as http:
        try:
            await eventually(serving, timeout=10)
        except AssertionError:
            handle.stop()
            raise TimeoutError("nginx did not start") from None
    return handle


async def upstream_of(nginx: Nginx, addresses: list[str]) -> dict[str, int]:
    """Which process nginx sends each client address to (one request each, then the log)."""
    for address in addresses:
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"{nginx.url}/healthz") as response:
                assert response.status == 200

    # nginx writes a request's log line after the response has gone out, so the last
    # client's line can still be on its way when its response arrives: wait for every line.
    async def every_line() -> dict[str, str] | None:
        found = nginx.routed()
        return found if all(address in found for address in addresses) else None

    routed = await eventually(every_line)
    return {address: int(routed[address].rsplit(":", 1)[1]) for address in addresses}
