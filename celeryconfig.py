"""Celery settings only, read once from the environment (`workers.settings.Settings`).

Reliability choices (design §3): JSON is the only accepted content type, so a pickled
message is rejected and never executed; tasks are acknowledged late and re-queued if
the worker dies (`task_reject_on_worker_lost`); each worker process reserves one message
at a time; every countdown and time limit stays far below the broker's visibility
timeout. Three queues: `poll` (cheap, frequent), `sync` (incremental product jobs) and
`bulk` (full syncs and their jobs), so a 10,000-product full sync never delays the
incremental work (run `bulk` on its own worker, as docker-compose does).
"""

from __future__ import annotations

from kombu import Queue

from workers.settings import get_settings

_settings = get_settings()
# How often beat checks that the broker kept its messages (`broker_watch`).
BROKER_WATCH_SECONDS = min(_settings.sweep_interval_seconds, 5.0)

broker_url = _settings.effective_broker_url
broker_transport_options = {"visibility_timeout": _settings.broker_visibility_timeout}
broker_connection_retry_on_startup = True
result_backend = None
task_ignore_result = True

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
event_serializer = "json"

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
worker_hijack_root_logger = False
# A task that runs past its lease has been re-announced by the sweeper anyway; the hard
# limit frees the process. Polls and full-sync listings read whole windows or catalogs,
# so they get more room, still far below the visibility timeout. (A task-level
# `time_limit=None` would mean "the default above", not "no limit": hence annotations.)
task_soft_time_limit = _settings.job_lease_seconds
task_time_limit = _settings.job_lease_seconds * 1.5
_LISTING_LIMITS = {
    "soft_time_limit": _settings.listing_time_limit_seconds,
    "time_limit": _settings.listing_time_limit_seconds * 4 / 3,
}
task_annotations = {
    "productsync.poll": _LISTING_LIMITS,
    "productsync.full_sync": {
        "soft_time_limit": _settings.full_sync_listing_time_limit_seconds,
        "time_limit": _settings.full_sync_listing_time_limit_seconds * 1.2,
    },
}

task_queues = (Queue("poll"), Queue("sync"), Queue("bulk"))
task_default_queue = "sync"
task_routes = {
    "productsync.tick": {"queue": "poll"},
    "productsync.poll": {"queue": "poll"},
    "productsync.sweep": {"queue": "poll"},
    # With the jobs it announces: every deployment has a worker on `sync`.
    "productsync.flush_webhook_jobs": {"queue": "sync"},
    "productsync.broker_watch": {"queue": "poll"},
    "productsync.full_sync": {"queue": "bulk"},
    "productsync.sync_chunk": {"queue": "bulk"},
    # Retention is maintenance: it never delays a poll.
    "productsync.prune": {"queue": "bulk"},
    # sync_product is sent explicitly to `sync` or `bulk`, following its job row.
    "productsync.sync_product": {"queue": "sync"},
}

beat_schedule = {
    # Each tick polls the enabled accounts whose own interval has passed.
    "tick": {
        "task": "productsync.tick",
        "schedule": _settings.poll_tick_seconds,
        "options": {"expires": max(_settings.default_poll_interval_seconds, 5.0)},
    },
    "sweep": {
        "task": "productsync.sweep",
        "schedule": _settings.sweep_interval_seconds,
        "options": {"expires": max(_settings.sweep_interval_seconds, 5.0)},
    },
    "prune": {"task": "productsync.prune", "schedule": 3600.0, "options": {"expires": 3600.0}},
    # Redis came back empty? Then every due job is announced again within seconds
    # (`workers.engine.broker_watch`); one SET NX per check.
    "broker-watch": {
        "task": "productsync.broker_watch",
        "schedule": BROKER_WATCH_SECONDS,
        "options": {"expires": BROKER_WATCH_SECONDS},
    },
}
