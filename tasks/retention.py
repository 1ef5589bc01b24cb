"""The retention task: beat runs it hourly (celeryconfig); one domain function."""

from __future__ import annotations

from tasks.app import app
from workers.retention import prune as prune_old_rows
from workers.settings import get_settings


@app.task(name="productsync.prune")
def prune() -> int:
    s = get_settings()
    result = prune_old_rows(
        s.database_url,
        history_days=s.history_retention_days,
        job_days=s.job_retention_days,
        # Well inside the task's soft time limit (the job lease); the next run carries on.
        budget_seconds=s.job_lease_seconds / 2,
    )
    return result.history + result.jobs
