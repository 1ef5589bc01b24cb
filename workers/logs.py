"""Log lines: human-readable by default, one JSON object per line on request.

``PRODUCTSYNC_LOG_FORMAT=json`` makes every line of the workers, beat and the web
process a JSON object: ``time``, ``level``, ``logger``, ``message``, and, when known,
``task``/``task_id``, ``account``, ``job``, ``run``, ``sku``, the vendor call
(``vendor``, ``vendor_account``, ``method``, ``path``, ``kind``, ``http_status``) and the
outcome (``action``, ``status``, ``code``). Fields come from what the line is about
(``extra=``) and from the task being run (bound when it starts), never from arguments
that could hold a secret: tasks take ids only, paths carry no query string, and no
header or body is ever a field.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from celery.signals import (
    after_setup_logger,
    after_setup_task_logger,
    task_postrun,
    task_prerun,
)

FIELDS = (
    "task", "task_id", "account", "job", "run", "sku", "vendor", "vendor_account", "method",
    "path", "kind", "http_status", "action", "status", "code",
)  # fmt: skip
_bound: ContextVar[Mapping[str, Any]] = ContextVar(
    "productsync_log_fields", default=MappingProxyType({})
)

log = logging.getLogger("productsync.activity")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (tracebacks inside, as a string)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_bound.get())
        line.update({f: record.__dict__[f] for f in FIELDS if f in record.__dict__})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def use_format(logger: logging.Logger, log_format: str) -> None:
    """Give every handler of ``logger`` the configured format (text keeps theirs)."""
    if log_format == "json":
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())


def vendor_call(
    vendor: str, vendor_account: str, method: str, path: str, kind: str, status: int | None
) -> None:
    """One line per vendor call: DEBUG when it succeeded, INFO when it did not."""
    level = logging.DEBUG if status is not None and status < 400 else logging.INFO
    if not log.isEnabledFor(level):
        return
    answer = "no answer" if status is None else str(status)
    bare = path.split("?", 1)[0]
    log.log(
        level,
        "%s %s %s: %s",
        vendor,
        method,
        bare,
        answer,
        extra={
            "vendor": vendor,
            "vendor_account": vendor_account,
            "method": method,
            "path": bare,
            "kind": kind,
            "http_status": status,
        },
    )


def outcome(row: Mapping[str, Any]) -> None:
    """One line per recorded attempt (a history row), once it is committed."""
    code = row.get("error_code")
    log.info(
        "account %s job %s sku %r: %s (%s)%s",
        row["account_id"],
        row.get("job_id"),
        row.get("sku"),
        row["action"],
        row["status"],
        f" {code}" if code else "",
        extra={
            "account": row["account_id"],
            "job": row.get("job_id"),
            "run": row.get("run_id"),
            "sku": row.get("sku"),
            "action": row["action"],
            "status": row["status"],
            "code": code,
        },
    )


# -- Celery: the configured format on its handlers, the running task's ids as fields ----

# Which argument of each task is which id (tasks take ids only).
_TASK_IDS = {
    "productsync.sync_product": "job",
    "productsync.poll": "account",
    "productsync.full_sync": "run",
}


@after_setup_logger.connect
@after_setup_task_logger.connect
def _celery_logger(logger: logging.Logger, **_: Any) -> None:
    from workers.settings import get_settings

    use_format(logger, get_settings().log_format)


@task_prerun.connect
def _bind_task(task_id: str, task: Any, args: tuple[Any, ...] = (), **_: Any) -> None:
    fields: dict[str, Any] = {"task": task.name, "task_id": task_id}
    name = _TASK_IDS.get(task.name)
    if name and args:
        fields[name] = args[0]
    _bound.set(fields)


@task_postrun.connect
def _unbind_task(**_: Any) -> None:
    _bound.set({})
