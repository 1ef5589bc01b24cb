"""End-to-end fixtures: one stack (emulators, Redis, worker, beat) per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import fresh_database
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fresh_database() as url, running_stack(url) as running:
        yield running


@pytest.fixture(scope="module")
def pipeline(stack: Stack) -> Stack:
    """The stack with one worker (all queues) and beat running."""
    stack.start_worker("w1")
    stack.start_beat()
    return stack
