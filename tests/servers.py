"""Serving an ASGI app for real HTTP in tests: uvicorn on 127.0.0.1, a random free port, in this event loop; and
``die_with_parent`` for the tests that run the service as processes of its own."""

from __future__ import annotations

import asyncio
import ctypes
import signal
import time

import uvicorn


async def serve(app, *, host: str = "127.0.0.1", timeout: float = 60) -> tuple[uvicorn.Server, asyncio.Task, int]:
    """Start ``app`` and wait until it listens; returns the server, its task and the port."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + timeout
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server did not start")
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start in time")
        await asyncio.sleep(0.02)
    return server, task, server.servers[0].sockets[0].getsockname()[1]


PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """``preexec_fn`` of a test's subprocess (Linux): the kernel sends it SIGTERM when the test process dies, so a
    killed or timed-out run leaves no server behind holding a port."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
