"""Processes and broker: kills, poison jobs, Redis restarts, lost publishes, duplicates."""

from __future__ import annotations

import time

import redis

from tests.support import oracle
from tests.support.faults import QBO_WRITE, finished, job_where, kill_children, stop_processes
from tests.support.stack import Stack


def test_worker_child_killed_mid_upsert_after_the_server_acted(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    # The create is performed 2 s after it arrives; the child dies while it waits.
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=2.0
    )
    acct.hubspot_create(name="Killed", hs_sku="KILL-1", price="5")
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.write_started_at is not None))
    time.sleep(0.5)
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    assert kill_children(worker)
    pipeline.wait_for(lambda: [i for i in acct.quickbooks_items() if i["Sku"] == "KILL-1"])
    pipeline.wait_for(lambda: finished(acct, 1), timeout=40)
    verdict = oracle.check(pipeline, acct)
    [job] = verdict.jobs
    assert job.status == "succeeded" and job.attempts >= 2
    assert len([i for i in acct.quickbooks_items() if i["Sku"] == "KILL-1"]) == 1


def _restart_pipeline(stack: Stack) -> None:
    stop_processes(stack)
    stack.start_worker("w1")
    stack.start_beat()


def test_whole_worker_killed_with_tasks_reserved(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.set_knobs(latency_ms=300)
    try:
        for n in range(8):
            acct.hubspot_create(name=f"Reserved {n}", hs_sku=f"RES-{n}", price=str(n + 1))
        pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "running"))
        [worker] = [p for p in pipeline.processes if p.name == "w1"]
        worker.kill()  # master and children at once: reserved messages are unacked
        pipeline.processes.remove(worker)
        pipeline.start_worker("w1")
    finally:
        pipeline.quickbooks_admin.set_knobs(latency_ms=0)
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 8}


def test_sigterm_during_a_slow_call_finishes_the_call(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=2.0
    )
    acct.hubspot_create(name="Slow", hs_sku="SLOW-1", price="7")
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.write_started_at is not None))
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    worker.stop(timeout=20)  # warm shutdown: the running task completes first
    assert worker.popen.returncode == 0
    [job] = acct.jobs()
    assert (job.status, job.attempts) == ("succeeded", 1)  # finished before the exit
    _restart_pipeline(pipeline)
    oracle.check(pipeline, acct)


def test_redis_restarted_without_persistence_during_fan_out(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.set_knobs(latency_ms=200)
    try:
        for n in range(10):
            acct.hubspot_create(name=f"Fan {n}", hs_sku=f"FAN-{n}", price="1")
        pipeline.wait_for(lambda: len(acct.jobs()) >= 10)
        pipeline.redis.restart()  # every queued message is gone
    finally:
        pipeline.quickbooks_admin.set_knobs(latency_ms=0)
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 10}


def test_redis_restarted_with_persistence_during_fan_out(pipeline: Stack) -> None:
    pipeline.redis.persistence = True
    try:
        pipeline.redis.restart()
        acct = pipeline.new_account("hubspot_to_quickbooks")
        pipeline.quickbooks_admin.set_knobs(latency_ms=200)
        for n in range(10):
            acct.hubspot_create(name=f"Kept {n}", hs_sku=f"KEPT-{n}", price="1")
        pipeline.wait_for(lambda: len(acct.jobs()) >= 10)
        pipeline.redis.restart()  # the append-only file brings the queue back
        pipeline.quickbooks_admin.set_knobs(latency_ms=0)
        verdict = oracle.check(pipeline, acct, timeout=60)
    finally:
        pipeline.quickbooks_admin.set_knobs(latency_ms=0)
        pipeline.redis.persistence = False
        pipeline.redis.restart()
    assert verdict.by_status() == {"succeeded": 10}


def test_broker_down_at_start_up(pipeline: Stack) -> None:
    stop_processes(pipeline)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    acct.hubspot_create(name="Late broker", hs_sku="LATE-1", price="2")
    pipeline.redis.stop()
    try:
        pipeline.start_worker("w1")
        pipeline.start_beat()
        time.sleep(3)
        assert all(p.alive() for p in pipeline.processes)  # waiting, not crashed
    finally:
        pipeline.redis.start()
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 1}


def test_publish_failure_part_way_through_a_fan_out(pipeline: Stack) -> None:
    from workers import engine

    stop_processes(pipeline)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    for n in range(6):
        acct.hubspot_create(name=f"Half {n}", hs_sku=f"HALF-{n}", price="3")
    time.sleep(pipeline.timings.settle + 0.6)
    dispatches = engine.poll_account(pipeline.context(), acct.id)  # jobs + cursor committed
    assert len(dispatches) == 6
    client = redis.Redis.from_url(pipeline.redis.url)
    failed = 0
    for n, dispatch in enumerate(dispatches):
        if n == 3:
            client.config_set("maxmemory", 1)  # Redis refuses every write from here on
        try:
            pipeline.send("productsync.sync_product", dispatch.job_id, queue=dispatch.queue)
        except Exception:
            failed += 1
    client.config_set("maxmemory", 0)
    assert failed == 3
    pipeline.start_worker("w1")
    pipeline.start_beat()
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 6}


def test_a_retry_whose_re_publish_fails(pipeline: Stack) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    # The create waits 2 s and answers 504 without acting: a retryable error.
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=2.0, perform=False
    )
    acct.hubspot_create(name="Republish", hs_sku="REPUB-1", price="4")
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.write_started_at is not None))
    client = redis.Redis.from_url(pipeline.redis.url)
    client.config_set("maxmemory", 1)  # the retry's publish is refused
    try:
        # the retry is recorded in Postgres whatever happens to its message
        retry = ("pending", 1)
        pipeline.wait_for(lambda: job_where(acct, lambda j: (j.status, j.attempts) == retry))
        time.sleep(1.0)
    finally:
        client.config_set("maxmemory", 0)
    [worker] = [p for p in pipeline.processes if p.name == "w1"]
    assert "maxmemory" in worker.output()  # the re-publish really failed
    # Kombu may give up on a broker that refuses writes (it did here); a supervisor
    # restarts the worker, as docker-compose does.
    worker.kill()
    pipeline.processes.remove(worker)
    pipeline.start_worker("w1")
    verdict = oracle.check(pipeline, acct, timeout=40)
    [job] = verdict.jobs
    assert job.status == "succeeded" and job.attempts == 2


def test_duplicate_delivery_of_one_job_to_two_workers(pipeline: Stack) -> None:
    pipeline.start_worker("w2")
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=1.5
    )
    acct.hubspot_create(name="Twice", hs_sku="TWICE-1", price="9")
    job = pipeline.wait_for(lambda: job_where(acct, lambda j: j.status == "running"))
    for _ in range(4):  # the same job id, again and again, to both workers
        pipeline.send("productsync.sync_product", job.id, queue="sync")  # type: ignore[attr-defined]
    verdict = oracle.check(pipeline, acct)
    [done] = verdict.jobs
    assert (done.status, done.attempts) == ("succeeded", 1)
    assert [e.status for e in acct.history()] == ["succeeded"]
