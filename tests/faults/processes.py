"""Real processes for fault tests: ``hotline serve`` and ``hotline bot`` started with their own environment, killed
with SIGKILL at chosen moments and started again. Output goes to a log file per process (printed when a test
fails, to see what each process went through)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from tests.servers import die_with_parent

ROOT = Path(__file__).resolve().parents[2]


class Process:
    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path):
        self.name = name
        self.args = args
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.log_path = logs / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(f"\n===== start {self.starts} =====\n".encode())
        log.flush()
        self.process = await asyncio.create_subprocess_exec(sys.executable, "-m", "api.cli", *self.args, cwd=ROOT,
                                                            env=self.env, stdout=log, stderr=log,
                                                            preexec_fn=die_with_parent)
        log.close()
        await self.ready()

    async def ready(self) -> None:  # overridden
        pass

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def killed(self) -> None:
        self.kill()
        if self.process is not None:
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout=20)
            except TimeoutError:
                await self.killed()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class ApiProcess(Process):
    def __init__(self, name: str, *, port: int, database_url: str, service_token: str, logs: Path):
        super().__init__(name, ["serve", "--port", str(port)], {
            "HOTLINE_DATABASE_URL": database_url, "HOTLINE_SERVICE_TOKEN": service_token,
            "HOTLINE_SECRET_KEY": "fault-test-secret-key-0123456789", "HOTLINE_RUN_SCHEDULER": "false",
            "HOTLINE_CHAT_RATE_LIMIT": "1000"}, logs)
        self.url = f"http://127.0.0.1:{port}"

    async def ready(self) -> None:
        deadline = time.monotonic() + 90
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.output()[-3000:]}")


class BotProcess(Process):
    def __init__(self, name: str, *, telegram_token: str, telegram_base_url: str, api_url: str, service_token: str,
                 logs: Path, lease_seconds: float):
        super().__init__(name, ["bot"], {
            "HOTLINE_TELEGRAM_TOKEN": telegram_token, "HOTLINE_TELEGRAM_BASE_URL": telegram_base_url,
            "HOTLINE_API_URL": api_url, "HOTLINE_SERVICE_TOKEN": service_token, "HOTLINE_POLL_TIMEOUT": "1",
            "HOTLINE_OUTBOX_INTERVAL": "0.2", "HOTLINE_OUTBOX_LEASE_SECONDS": str(lease_seconds),
            "HOTLINE_API_RETRY_DELAY": "0.2", "HOTLINE_API_MAX_BACKOFF": "1", "HOTLINE_API_TIMEOUT": "10"}, logs)

    async def ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not self.alive:
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            if self.output().count("bot running") >= self.starts:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start:\n{self.output()[-3000:]}")
