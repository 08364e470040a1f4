"""``hotline up`` with no token at all serves the web chat and says where: a newcomer can try the product in a
browser at once."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hotline_up_serves_the_web_chat_without_a_token(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    env.update(HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'up.db'}", HOTLINE_RUN_SCHEDULER="false")
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "up", "--port", str(port)], cwd=tmp_path, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 180
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            lines.append(line)
            found = re.search(r"Web chat for company owners: (\S+)", line)
            url = found.group(1) if found else None
        assert url == f"http://127.0.0.1:{port}/chat", "".join(lines)
        while time.monotonic() < deadline:
            try:
                page = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert page.status_code == 200 and "상담을 시작하기 전에 확인해 주세요" in page.text
    finally:
        process.terminate()
        process.wait(timeout=30)
