"""The fault suite: one stack per module (fresh database, private Redis, emulators, real
worker and beat processes with compressed timings); every test ends with the oracle."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import REPLACED, LocalPostgres, keep_replacing, local_postgres
from tests.support.oracle import TALLY
from tests.support.services import fresh_database
from tests.support.stack import Stack, running_stack

HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.cases:
        terminalreporter.write_line(
            f"fault oracle: cases run {TALLY.cases}, jobs processed {TALLY.jobs}, "
            f"lost {TALLY.lost}, duplicates {TALLY.duplicates}"
        )
    if REPLACED:
        terminalreporter.write_line(
            f"workers replaced after exiting with status 1: {len(REPLACED)}: "
            + "; ".join(f"{n}x {why}" for why, n in Counter(REPLACED).items())
        )


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as running:
        yield running


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalPostgres]:
    """A private Postgres cluster, for a module whose stack restarts or kills it."""
    with local_postgres() as server:
        yield server


@pytest.fixture
def pipeline(stack: Stack) -> Iterator[Stack]:
    """The module's stack with one worker (all queues) and beat; a test may kill or add
    processes freely, everything it started is stopped afterwards. While the test runs,
    a worker ``w1`` that exits with status 1 (it found itself deaf, e.g. after a broker
    restart, celery/celery#8030; or crashed) is replaced, as any supervisor would."""
    if not any(p.alive() and p.name == "w1" for p in stack.processes):
        stack.start_worker("w1")
    if not any(p.alive() and p.name == "beat" for p in stack.processes):
        stack.start_beat()
    with keep_replacing(stack, "w1", lambda: stack.start_worker("w1")):
        yield stack
    stack.hubspot_admin.clear_faults()
    stack.quickbooks_admin.clear_faults()
    for process in list(stack.processes):
        if process.name not in ("w1", "beat") or not process.alive():
            process.stop()
            stack.processes.remove(process)
