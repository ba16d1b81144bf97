"""A moto_server for the live harness's own tests, so a harness bug shows without an account.

The server is the one installed beside this interpreter (never the first on PATH), on a free
127.0.0.1 port, one per test session. Each test gets its own project name, so tests sharing the
server never see each other's resources.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cglive.project import client_factory
from cglive.settings import LiveSettings, new_project_name

REGION = "eu-west-1"
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_SESSION_TOKEN": "testing"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    executable = Path(sys.executable).parent / "moto_server"
    assert executable.exists(), f"{executable} is missing: pip install -e '.[test]' installs it"
    port = _free_port()
    process = subprocess.Popen([str(executable), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials only: nothing a test does can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


@pytest.fixture
def settings(moto_server, aws_env, tmp_path) -> LiveSettings:
    return LiveSettings(profile="", region=REGION, project=new_project_name(), output=tmp_path / "out",
                        endpoint_url=moto_server)


@pytest.fixture
def clients(settings):
    return client_factory(settings)
