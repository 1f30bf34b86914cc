"""`tenderhall serve` as people run it: a real uvicorn process on a fresh data dir."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    env = {**os.environ, "TENDERHALL_DATA_DIR": str(tmp_path), "TENDERHALL_KEEP_ALIVE_SECONDS": "30"}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "TENDERHALL_TESTING"):
        env.pop(name, None)
    command = [sys.executable, "-m", "tenderhall.cli", "serve", "--no-worker", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_an_idle_keep_alive_connection_outlives_uvicorns_five_seconds(server: int) -> None:
    """A bidder's tool that reuses its connection after waiting its turn is not cut off
    (TENDERHALL_KEEP_ALIVE_SECONDS; uvicorn's own default is 5 s)."""
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("GET", "/api/v1/log/key")
    first = connection.getresponse()
    first.read()
    assert first.status == 200 and first.getheader("connection", "").lower() != "close"
    time.sleep(6.5)
    connection.request("GET", "/api/v1/log/key")  # the same socket: http.client reconnects only if closed
    assert connection.sock is not None
    second = connection.getresponse()
    second.read()
    assert second.status == 200
    connection.close()
