"""The database goes away and comes back (PostgreSQL): the API process keeps running, ``/readyz`` answers 503 while
the database is unreachable and 200 again afterwards, requests that need the database get a 503 with a Korean
message meanwhile (the bot then says "잠시 후 다시"), and everything works again without restarting the API.

The shared PostgreSQL server is never stopped: the API reaches its database through a TCP proxy run by the test,
and "the database restarts" is the proxy dropping every connection and refusing new ones, then accepting again.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests import dbutil
from tests.conftest import SECRET_KEY, SERVICE_TOKEN
from tests.servers import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
postgres_only = pytest.mark.skipif(not dbutil.is_postgres(),
                                   reason="a database restart is a PostgreSQL scenario (SQLite is a file in the process)")


class TcpProxy:
    """Forwards 127.0.0.1:<port> to the database; ``down()`` drops every connection and refuses new ones."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = _free_port()
        self._server: asyncio.Server | None = None
        self._transports: set[asyncio.WriteTransport] = set()
        self._tasks: set[asyncio.Task] = set()
        self.connections = 0

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for transport in list(self._transports):
            transport.abort()  # the database "crashed": connections break mid-stream
        self._transports.clear()
        await asyncio.gather(*self._tasks, return_exceptions=True)  # the pipes end once their sockets are gone
        await self._server.wait_closed()
        self._server = None

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        self._tasks.add(task := asyncio.current_task())
        pair = (client_writer.transport, server_writer.transport)
        self._transports.update(pair)

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.transport.abort()

        try:
            await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
        finally:
            self._transports.difference_update(pair)
            self._tasks.discard(task)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _wait_for(client: httpx.AsyncClient, path: str, status: int, *, attempts: int = 300,
                    headers: dict[str, str] | None = None) -> httpx.Response:
    """Poll until ``path`` answers ``status`` (up to ~60 s on a busy machine; not a timing assertion)."""
    last: httpx.Response | Exception | None = None
    for _ in range(attempts):
        try:
            last = await client.get(path, headers=headers)
            if last.status_code == status:
                return last
        except httpx.TransportError as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise AssertionError(f"{path} never answered {status}; last: {getattr(last, 'status_code', last)!r} "
                         f"{getattr(last, 'text', '')[:300]}")


@postgres_only
async def test_readyz_follows_the_database_and_the_api_recovers_by_itself(fresh_database_url, tmp_path):
    url = make_url(fresh_database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.up()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    port = _free_port()
    log_path = tmp_path / "api.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_ENV": "test", "HOTLINE_DATABASE_URL": proxied,
           "HOTLINE_SERVICE_TOKEN": SERVICE_TOKEN, "HOTLINE_SECRET_KEY": SECRET_KEY, "HOTLINE_RUN_SCHEDULER": "true"}
    env.pop("HOTLINE_TELEGRAM_TOKEN", None)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}

    async def lease(client: httpx.AsyncClient) -> httpx.Response:  # the bot's call: a write in a transaction
        return await client.post("/api/v1/outbox/lease", headers=service, json={"channel": "telegram", "limit": 5})

    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            await _wait_for(client, "/readyz", 200)
            assert (await client.get("/api/v1/centers")).status_code == 200
            assert (await lease(client)).status_code == 200
            assert proxy.connections >= 1

            await proxy.down()
            down = await _wait_for(client, "/readyz", 503)
            assert down.json()["error"] == "database_unavailable"
            assert (await client.get("/healthz")).status_code == 200  # the process itself is fine
            for path, r in (("/api/v1/centers", await client.get("/api/v1/centers")),
                            ("/api/v1/outbox/lease", await lease(client))):
                assert r.status_code == 503, (path, r.status_code, r.text[:300])
                body = r.json()
                assert body["error"] == "database_unavailable" and "잠시 후" in body["detail"]
            assert process.poll() is None

            await proxy.up()
            await _wait_for(client, "/readyz", 200)
            # Each request after the restart works the first time: stale pooled connections are replaced.
            assert (await client.get("/api/v1/centers")).status_code == 200
            assert (await lease(client)).status_code == 200
            assert process.poll() is None
    finally:
        process.terminate()  # the proxy must keep forwarding while the API shuts down: wait without blocking
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        if proxy._server is not None:
            await proxy.down()
        print(log_path.read_text(errors="replace")[-5000:])  # shown when the test fails


@pytest.mark.parametrize("error", ["operational", "interface", "pool_timeout"])
async def test_an_unreachable_database_is_a_503_on_any_route(app, client, error):
    """What a request gets while the database is down, whichever way the driver or the pool reports it
    (including SQLite's 'database is locked' and an exhausted pool)."""
    from fastapi import APIRouter
    from sqlalchemy.exc import InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    exc = {"operational": OperationalError("SELECT 1", {}, Exception("connection refused")),
           "interface": InterfaceError("SELECT 1", {}, Exception("connection already closed")),
           "pool_timeout": PoolTimeout("QueuePool limit of size 10 overflow 20 reached")}[error]
    router = APIRouter()

    @router.get("/_probe/db-down")
    async def probe() -> None:
        raise exc

    app.include_router(router)
    r = await client.get("/_probe/db-down")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.json()["error"] == "database_unavailable" and "잠시 후" in r.json()["detail"]
