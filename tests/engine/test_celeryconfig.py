"""The Celery configuration keeps the reliability rules of design §3."""

from __future__ import annotations

import importlib

import pytest

import celeryconfig
from workers.settings import get_settings


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PRODUCTSYNC_BROKER_VISIBILITY_TIMEOUT", "900")
    monkeypatch.setenv("PRODUCTSYNC_SWEEP_INTERVAL_SECONDS", "7")
    get_settings.cache_clear()
    try:
        yield importlib.reload(celeryconfig)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        importlib.reload(celeryconfig)


def test_json_only_late_acks_and_one_message_per_process(config) -> None:  # type: ignore[no-untyped-def]
    assert config.accept_content == ["json"] and config.task_serializer == "json"
    assert config.task_acks_late and config.task_reject_on_worker_lost
    assert config.worker_prefetch_multiplier == 1
    assert config.broker_transport_options == {"visibility_timeout": 900}
    assert config.task_time_limit < 900 / 4
    # Listings get explicit, larger limits (a task-level None would mean the default).
    for name in ("productsync.poll", "productsync.full_sync"):
        limits = config.task_annotations[name]
        assert config.task_time_limit < limits["soft_time_limit"] < limits["time_limit"] < 900


def test_listing_tasks_carry_their_limits() -> None:
    import tasks

    app = tasks.app
    for name in ("productsync.poll", "productsync.full_sync"):
        assert app.tasks[name].time_limit == app.conf.task_annotations[name]["time_limit"]


def test_queues_routes_and_beat_schedule(config) -> None:  # type: ignore[no-untyped-def]
    assert [q.name for q in config.task_queues] == ["poll", "sync", "bulk"]
    assert config.task_routes["productsync.full_sync"] == {"queue": "bulk"}
    assert config.task_routes["productsync.poll"] == {"queue": "poll"}
    assert config.beat_schedule["sweep"]["schedule"] == 7.0
    assert config.beat_schedule["tick"]["task"] == "productsync.tick"


def test_the_app_reads_this_config_and_registers_the_tasks() -> None:
    import tasks

    assert tasks.app.conf.accept_content == ["json"]
    names = set(tasks.app.tasks)
    assert {"productsync.sync_product", "productsync.poll", "productsync.sweep"} <= names
    assert {"productsync.full_sync", "productsync.tick"} <= names
