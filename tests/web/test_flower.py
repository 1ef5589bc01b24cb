"""Flower as `productsync run` starts it: basic auth on, anonymous API off, no secret in argv."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from console.web import flower_command, flower_environment
from tests.support.services import free_port
from workers.secret import Secret
from workers.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
FLOWER_PASSWORD = "flower-test-pw"


def test_flower_refuses_anonymous_visitors_and_accepts_the_configured_login(
    redis_url: str, tmp_path: Path
) -> None:
    settings = Settings().replace(
        redis_url=redis_url,
        flower_port=free_port(),
        flower_username="ops",
        flower_password=Secret(FLOWER_PASSWORD),
    )
    argv = flower_command(settings, executable=str(Path(sys.executable).with_name("celery")))
    assert not any(FLOWER_PASSWORD in arg for arg in argv)
    log = tmp_path / "flower.log"
    env = {**os.environ, **flower_environment(settings), "PYTHONPATH": str(ROOT)}
    env["PRODUCTSYNC_REDIS_URL"] = redis_url
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{settings.flower_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                anonymous = requests.get(base + "/", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        assert anonymous.status_code == 401
        assert requests.get(base + "/api/workers", timeout=5).status_code == 401
        wrong = requests.get(base + "/", auth=("ops", "guess"), timeout=5)
        assert wrong.status_code == 401
        right = requests.get(base + "/", auth=("ops", FLOWER_PASSWORD), timeout=5)
        assert right.status_code == 200
        # Nothing in its process table entry names the password.
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
        assert FLOWER_PASSWORD not in cmdline
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        ("", "pw", "must both be set"),
        ("ops", "", "must both be set"),
        ("o:ps", "pw", "must not contain"),
        ("ops", "a,b", "must not contain"),
    ],
)
def test_flower_credentials_it_cannot_represent_are_refused(
    username: str, password: str, problem: str
) -> None:
    settings = Settings().replace(flower_username=username, flower_password=Secret(password))
    with pytest.raises(ConfigError, match=problem) as caught:
        flower_environment(settings)
    assert password not in str(caught.value) or not password


def test_flower_environment_turns_auth_on() -> None:
    settings = Settings().replace(flower_username="ops", flower_password=Secret("p:w"))
    assert flower_environment(settings) == {
        "FLOWER_BASIC_AUTH": "ops:p:w",
        "FLOWER_UNAUTHENTICATED_API": "false",
    }
