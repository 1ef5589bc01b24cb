"""Webhook jobs gathered per account: one flush owed per gathering, nothing left behind."""

from __future__ import annotations

import fakeredis

from workers.webhooks import coalesce


def test_the_first_delivery_of_a_moment_owes_the_flush_and_the_rest_join_it() -> None:
    client = fakeredis.FakeRedis()
    assert coalesce.gather(client, 7, [1, 2], 1.0) is True
    assert coalesce.gather(client, 7, [3], 1.0) is False  # the flush already owed takes it
    assert coalesce.gather(client, 8, [9], 1.0) is True  # another account: its own
    assert coalesce.take(client, 7) == [1, 2, 3]
    assert coalesce.take(client, 7) == []
    assert coalesce.take(client, 8) == [9]


def test_a_delivery_after_the_flush_took_the_list_owes_a_new_flush() -> None:
    client = fakeredis.FakeRedis()
    assert coalesce.gather(client, 7, [1], 1.0) is True
    assert coalesce.take(client, 7) == [1]
    assert coalesce.gather(client, 7, [2], 1.0) is True  # not stranded behind a stale flag
    assert coalesce.take(client, 7) == [2]
