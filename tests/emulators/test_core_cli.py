"""`productsync emulators`: serves both vendors; bad arguments are one line, no traceback."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests

from console.cli import main
from emulators.hubspot import DEV_TOKEN


@pytest.mark.parametrize(
    "args",
    [
        ("--hubspot-knob", "nope=1"),
        ("--hubspot-knob", "search_max_limit=-1", "--only", "hubspot"),
        ("--hubspot-knob", "novalue"),
        ("--hubspot-port", "70000"),
        ("--preset", "gold"),
    ],
)
def test_bad_arguments_fail_cleanly(
    args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["emulators", *args])
    assert exited.value.code not in (0, None)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("Error:")


def test_serves_both_emulators_until_terminated() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulators",
            "--hubspot-port",
            "0",
            "--quickbooks-port",
            "0",
            "--seed",
            "20",
            "--tricky",
            "--latency-ms",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        urls = [re.search(r"on (http://\S+)", line).group(1) for line in lines]  # type: ignore[union-attr]
        assert "HubSpot" in lines[0] and "QuickBooks" in lines[1]
        products = requests.get(
            urls[0] + "/crm/v3/objects/products",
            params={"limit": 100},
            headers={"Authorization": f"Bearer {DEV_TOKEN}"},
            timeout=10,
        ).json()["results"]
        assert len(products) == 20 + 15  # seeded + the tricky set
        assert requests.get(urls[1] + "/__emulator__/health", timeout=10).json()["ok"]
    finally:
        proc.terminate()
        started = time.monotonic()
        proc.wait(timeout=20)
    assert proc.returncode == 0 and time.monotonic() - started < 10
