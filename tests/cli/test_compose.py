"""docker-compose.yml is valid, complete, and holds no production secret."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from workers.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEV_ENV = ROOT / "docker" / "development.env"


def compose(*args: str, env_file: Path = DEV_ENV) -> subprocess.CompletedProcess[str]:
    # A clean environment: nothing from the test runner's PRODUCTSYNC_* leaks in.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE),
            "--env-file",
            str(env_file),
            "--profile",
            "emulators",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    result = compose("config")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_config_is_valid_with_the_development_env() -> None:
    result = compose("config", "-q")
    assert result.returncode == 0, result.stderr


def test_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    result = compose("config", "-q", env_file=empty)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr or "PRODUCTSYNC_" in result.stderr


def test_each_required_secret_is_demanded(tmp_path: Path) -> None:
    lines = DEV_ENV.read_text().splitlines()
    for secret in (
        "POSTGRES_PASSWORD",
        "PRODUCTSYNC_ENCRYPTION_KEY",
        "PRODUCTSYNC_WEB_PASSWORD",
        "PRODUCTSYNC_WEB_SECRET_KEY",
        "PRODUCTSYNC_FLOWER_PASSWORD",
    ):
        env_file = tmp_path / f"{secret}.env"
        env_file.write_text("\n".join(ln for ln in lines if not ln.startswith(secret + "=")))
        result = compose("config", "-q", env_file=env_file)
        assert result.returncode != 0, f"{secret} has a hard-coded default"
        assert secret in result.stderr


def test_services(config: dict[str, Any]) -> None:
    services = config["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "hubspot-emulator",
        "quickbooks-emulator",
        "migrate",
        "worker-poll",
        "worker-sync",
        "worker-bulk",
        "beat",
        "flower",
        "web",
    }
    assert "healthcheck" in services["postgres"]
    assert "--appendonly" in services["redis"]["command"]
    assert (
        services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
        == "yes"
    )
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["command"] == ["productsync", "migrate"]
    for queue in ("poll", "sync", "bulk"):
        command = services[f"worker-{queue}"]["command"]
        assert command[:4] == ["celery", "-A", "tasks.app", "worker"]
        assert command[command.index("-Q") + 1] == queue
    # Polls wait on the network: threads, many of them (bench: many accounts).
    poll = services["worker-poll"]["command"]
    assert poll[poll.index("--pool") + 1] == "threads"
    assert int(poll[poll.index("--concurrency") + 1]) >= 16
    beats = [name for name, s in services.items() if "beat" in s.get("command", [])]
    assert beats == ["beat"]
    for name in ("worker-poll", "worker-sync", "worker-bulk", "beat", "flower", "web"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_every_service_restarts_and_every_worker_checks_it_consumes(
    config: dict[str, Any],
) -> None:
    services = config["services"]
    for name, service in services.items():
        # The one-shot migration excepted: the others wait for it to complete.
        assert service["restart"] == ("no" if name == "migrate" else "unless-stopped"), name
    for queue in ("poll", "sync", "bulk"):
        check = services[f"worker-{queue}"]["healthcheck"]
        assert check["test"] == ["CMD", "productsync", "worker-health"]
        assert check["start_period"] and check["retries"] >= 1


def test_flower_has_basic_auth_from_the_environment(config: dict[str, Any]) -> None:
    flower = config["services"]["flower"]
    assert flower["command"][:4] == ["celery", "-A", "tasks.app", "flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "admin:admin"
    assert not any("auth" in arg for arg in flower["command"])  # never on the command line


def test_only_known_settings_are_set(config: dict[str, Any]) -> None:
    known = {f"PRODUCTSYNC_{f.name.upper()}" for f in dataclasses.fields(Settings)}
    for name, service in config["services"].items():
        for var in service.get("environment", {}):
            if var.startswith("PRODUCTSYNC_"):
                assert var in known, f"{name}: {var} is not a setting"
    for line in DEV_ENV.read_text().splitlines():
        match = re.match(r"(PRODUCTSYNC_\w+)=", line)
        if match:
            assert match.group(1) in known, line


def test_development_env_loads_as_settings(config: dict[str, Any]) -> None:
    environment = {k: str(v) for k, v in config["services"]["web"]["environment"].items()}
    settings = Settings.from_env(environment)
    assert settings.hubspot_api_base == "http://hubspot-emulator:8801"
    assert settings.flower_password.reveal() == "admin"


def test_web_health_is_checked_through_readyz(config: dict[str, Any]) -> None:
    check = config["services"]["web"]["healthcheck"]
    assert check["test"][0] == "CMD"
    assert "http://127.0.0.1:8000/readyz" in " ".join(check["test"])
