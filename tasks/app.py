"""The Celery app. Worker processes get their own database engines and HTTP pools after
fork (a prefork child must never use its parent's connections)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

import workers.logs  # noqa: F401  (the log format and task fields, through Celery's signals)

app = Celery("productsync")
app.config_from_object("celeryconfig")


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    from models.db import dispose_all
    from tasks.context import forget_context
    from workers.catalog.factory import close_all

    dispose_all()
    close_all()
    forget_context()
