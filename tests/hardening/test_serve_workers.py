"""``hotline serve`` as deployed, in a real process: one process, or (``--workers 2``) a parent that loaded Kiwi
and two workers forked from it that share its pages. Both answer ``/ask`` with the knowledge base, without a
server banner and with the security headers, write the masked access log, and stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import SECRET_KEY, SERVICE_TOKEN
from tests.servers import die_with_parent

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _shared_mb(pid: int) -> float:
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value = line.split(":", 1)
        values[name] = int(value.split()[0]) / 1024
    return values.get("Shared_Clean", 0) + values.get("Shared_Dirty", 0)


async def _until(check, what: str, timeout: float = 120):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_answers_from_every_worker_and_workers_share_the_model(fresh_database_url, tmp_path, workers):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOTLINE_ENV": "test", "HOTLINE_DATABASE_URL": fresh_database_url,
           "HOTLINE_SERVICE_TOKEN": SERVICE_TOKEN, "HOTLINE_SECRET_KEY": SECRET_KEY, "HOTLINE_RUN_SCHEDULER": "false"}
    env.pop("HOTLINE_TELEGRAM_TOKEN", None)
    subprocess.run([sys.executable, "-m", "api.cli", "init"], cwd=ROOT, env=env, check=True, capture_output=True)
    port = _free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                                    "--workers", str(workers)], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
    try:
        async def all_started():
            assert process.poll() is None, log_path.read_text(errors="replace")[-3000:]
            return log_path.read_text(errors="replace").count("Application startup complete.") == workers

        await _until(all_started, f"{workers} worker(s) to start")
        pids = _children(process.pid) if workers > 1 else [process.pid]
        assert len(pids) == workers
        if workers > 1:
            for pid in pids:
                # Kiwi's model (~260 MB) was loaded by the parent before the fork: its pages are shared.
                assert _shared_mb(pid) > 150, pid

        service = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
        # New connections are spread over the workers by the kernel: enough of them reach every worker.
        for _ in range(6 * workers):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                r = await client.post("/api/v1/ask", json={"text": "스마트공장 신청은 어디서 하나요?", "chat_id": 5},
                                      headers=service)
                assert r.status_code == 200, r.text[:300]
                assert r.json()["outcome"] == "answered"
                health = await client.get("/healthz", params={"token": "do-not-log-this-value-123"})
                assert health.status_code == 200
                # No server banner (uvicorn alone, or in gunicorn's workers); the security headers are there.
                for response in (r, health):
                    assert "server" not in response.headers, response.headers
                    assert response.headers["x-frame-options"] == "DENY"
                    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]

        async def logged():
            text = log_path.read_text(errors="replace")
            return text if text.count("/healthz?token=") >= 6 * workers else None

        text = await _until(logged, "the access log", timeout=10)
        assert "do-not-log-this-value-123" not in text
        assert '"POST /api/v1/ask HTTP/1.1" 200' in text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 60)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        print(log_path.read_text(errors="replace")[-5000:])  # shown when the test fails
    # uvicorn re-raises the signal once it has shut down; gunicorn's parent exits 0 after its workers.
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete." in log_path.read_text(errors="replace")
