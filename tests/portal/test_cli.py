"""``plancycle portal`` serves the portal from the environment's register."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from .live import free_port


def test_plancycle_portal_serves_the_register_in_plancycle_home(runtime, home):
    port = free_port()
    env = {**os.environ, "PLANCYCLE_HOME": str(home), "PLANCYCLE_PLANNER_TOKEN": "t" * 32}
    server = subprocess.Popen(
        [sys.executable, "-m", "plancycle.cli", "portal", "--host", "127.0.0.1", "--port",
         str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "the portal did not start in 60 s"
                time.sleep(0.2)
        assert response.status_code == 200
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        login = httpx.get(f"http://127.0.0.1:{port}/planner/login", timeout=5)
        assert login.status_code == 200 and "Planner's token" in login.text
    finally:
        server.terminate()
        server.wait(timeout=20)
