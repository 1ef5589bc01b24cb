"""Backoff, locks and the account service."""

from __future__ import annotations

import random

import pytest
import redis

from models.db import session_scope
from workers.engine.accounts import mappings_of, reset_mappings, set_mappings
from workers.engine.backoff import backoff_delay, should_park
from workers.engine.locks import RedisLock, sku_lock
from workers.mapping import (
    DEFAULT_MAPPINGS,
    HUBSPOT_PRODUCT_FIELDS,
    OPTIONAL_MAPPINGS,
    QBO_ITEM_FIELDS,
    FieldMapping,
    MappingInvalid,
)


def test_backoff_is_full_jitter_capped_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(5, base=1.0, cap=10.0, rng=rng) for _ in range(500)]
    assert 0 <= min(delays) < 1 and 9 < max(delays) <= 10  # spread over [0, cap]
    assert all(backoff_delay(2, base=1.0, cap=10.0, rng=rng) <= 2.0 for _ in range(50))
    assert backoff_delay(1, base=1.0, cap=10.0, retry_after=7.5, rng=rng) >= 7.5
    assert (
        should_park(600, cap=300) and not should_park(30, cap=300) and not should_park(None, cap=1)
    )


def test_lock_is_exclusive_fenced_and_released_only_by_its_owner(redis_client: redis.Redis) -> None:
    first = sku_lock(redis_client, 1, "A'%_\\ü", ttl_seconds=5)
    second = sku_lock(redis_client, 1, "A'%_\\ü", ttl_seconds=5)
    other_case = sku_lock(redis_client, 1, "a'%_\\ü", ttl_seconds=5)
    assert first.acquire() and not second.acquire() and other_case.acquire()
    assert first.still_held()
    assert not second.release()  # not the owner: nothing happens
    assert first.still_held() and first.release()
    assert second.acquire()
    assert second.fence is not None and first.fence is None
    assert not first.still_held()


def test_expired_lock_cannot_be_extended_or_released_by_its_old_holder(
    redis_client: redis.Redis,
) -> None:
    old = RedisLock(redis_client, "x", ttl_seconds=0.001)
    assert old.acquire()
    redis_client.delete(old.key)  # expired
    new = RedisLock(redis_client, "x", ttl_seconds=5)
    assert new.acquire()
    assert not old.extend() and not old.release() and new.still_held()
    assert (new.fence or 0) > 1


def test_accounts_start_with_default_mappings_and_refuse_invalid_ones(
    db: str, account_id: int
) -> None:
    with session_scope(db) as session:
        assert mappings_of(session, account_id) == DEFAULT_MAPPINGS
        chosen = (*DEFAULT_MAPPINGS, *OPTIONAL_MAPPINGS)
        set_mappings(
            session,
            account_id,
            chosen,
            hubspot_fields=HUBSPOT_PRODUCT_FIELDS,
            quickbooks_fields=QBO_ITEM_FIELDS,
        )
        assert mappings_of(session, account_id) == chosen
    with pytest.raises(MappingInvalid) as refused, session_scope(db) as session:
        set_mappings(
            session,
            account_id,
            (*DEFAULT_MAPPINGS, FieldMapping("no_such_field", "PurchaseCost", "money")),
            hubspot_fields=HUBSPOT_PRODUCT_FIELDS,
            quickbooks_fields=QBO_ITEM_FIELDS,
        )
    assert "no_such_field" in " ".join(refused.value.problems)
    with session_scope(db) as session:
        assert mappings_of(session, account_id) == chosen  # the refusal changed nothing
        reset_mappings(session, account_id)
        assert mappings_of(session, account_id) == DEFAULT_MAPPINGS
