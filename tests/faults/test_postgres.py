"""Postgres faults on a private cluster (initdb + pg_ctl in a temp folder, free port):
a restart mid-task, backends killed during COMMIT, fork safety, ten jobs for one SKU."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest

from models.db import session_scope
from tests.support import oracle
from tests.support.faults import (
    QBO_WRITE,
    LocalPostgres,
    job_where,
    send_burst,
    wait_for_database,
)
from tests.support.stack import Stack, running_stack
from workers.engine.jobs import NewJob, insert_jobs


@pytest.fixture(scope="module")
def stack(cluster: LocalPostgres) -> Iterator[Stack]:
    url = cluster.create_database("productsync_faults")
    with running_stack(url) as running:
        yield running


def test_postgres_restarted_mid_task(pipeline: Stack, cluster: LocalPostgres) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    pipeline.quickbooks_admin.add_fault(
        "hang", QBO_WRITE, method="POST", account=acct.realm_id, seconds=1.5
    )
    acct.hubspot_create(name="Restart", hs_sku="PGRESTART-1", price="5")
    pipeline.wait_for(lambda: job_where(acct, lambda j: j.write_started_at is not None))
    cluster.restart("immediate")  # every connection dies; the create still happens
    wait_for_database(pipeline)
    verdict = oracle.check(pipeline, acct, timeout=60)
    [job] = verdict.jobs
    assert job.status == "succeeded"
    assert oracle.creates_by_sku(pipeline, acct, "quickbooks")["PGRESTART-1"] == 1


def test_backends_killed_during_commit(pipeline: Stack, cluster: LocalPostgres) -> None:
    acct = pipeline.new_account("hubspot_to_quickbooks")
    stop = threading.Event()
    killed: list[int] = []

    def chaos() -> None:
        # Terminate every backend of the service's database again and again: some die
        # inside a transaction, some inside COMMIT (an outcome the worker never learns).
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
            while not stop.is_set():
                rows = conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = 'productsync_faults' AND pid <> pg_backend_pid() "
                    "AND state <> 'idle'"
                ).fetchall()
                killed.extend(1 for r in rows if r[0])
                time.sleep(0.03)

    thread = threading.Thread(target=chaos, daemon=True)
    thread.start()
    try:
        for n in range(10):
            acct.hubspot_create(name=f"Chaos {n}", hs_sku=f"PGKILL-{n}", price=str(n + 1))
        time.sleep(6)
    finally:
        stop.set()
        thread.join(5)
    assert killed  # the chaos really hit busy backends
    verdict = oracle.check(pipeline, acct, timeout=90)
    assert set(verdict.by_status()) <= {"succeeded"}, verdict.by_status()


def test_fork_safety_with_several_pool_children(pipeline: Stack) -> None:
    worker = pipeline.start_worker("w4", concurrency=4)
    acct = pipeline.new_account("hubspot_to_quickbooks")
    for n in range(16):
        acct.hubspot_create(name=f"Fork {n}", hs_sku=f"FORK-{n}", price="1")
    verdict = oracle.check(pipeline, acct, timeout=60)
    assert verdict.by_status() == {"succeeded": 16}
    log = worker.output()
    for symptom in ("lost synchronization", "SSL", "server closed the connection",
                    "DatabaseError", "internal_error"):  # fmt: skip
        assert symptom not in log, symptom
    assert all(e.error_code is None for e in acct.history())


def test_ten_jobs_for_one_sku_at_once(pipeline: Stack) -> None:
    """Into HubSpot, where nothing but the service's own lock stops two concurrent creates
    (no unique names, no unique SKUs, search lags behind writes)."""
    pipeline.start_worker("w4", concurrency=4)
    acct = pipeline.new_account("quickbooks_to_hubspot")
    item = acct.quickbooks_create(Name="Contended", Sku="TEN-1", UnitPrice=1)
    with session_scope(pipeline.database_url) as session:
        dispatches = insert_jobs(
            session,
            account_id=acct.id,
            source_system="quickbooks",
            reason="manual",
            queue="sync",
            changes=[NewJob(item, None) for _ in range(10)],
        )
    assert len(dispatches) == 10
    lag = {"search_lag_create_ms": 3000, "search_lag_update_ms": 3000}
    pipeline.hubspot_admin.set_knobs(**lag)  # a create stays invisible to search a while
    # Uneven source reads spread the jobs out, so some reach the SKU lock just as another
    # job releases it (claimed before that job linked its create).
    pipeline.quickbooks_admin.set_knobs(latency_ms=100, jitter_ms=400)
    try:
        send_burst(pipeline, [d.job_id for d in dispatches])
        for price in range(2, 6):  # the source keeps changing while they run
            acct.quickbooks_update(item, UnitPrice=price, Name=f"Contended v{price}")
            time.sleep(0.1)
        verdict = oracle.check(pipeline, acct, timeout=60)  # G1: final state = newest
    finally:
        pipeline.hubspot_admin.set_knobs(**{k: pipeline.timings.search_lag_ms for k in lag})
        pipeline.quickbooks_admin.set_knobs(latency_ms=0, jitter_ms=0)
    assert set(verdict.by_status()) == {"succeeded"}
    [product] = [p["properties"] for p in acct.hubspot_products()]
    assert (product["name"], Decimal(product["price"])) == ("Contended v5", Decimal(5))
    assert oracle.creates_by_sku(pipeline, acct, "hubspot")["TEN-1"] == 1
