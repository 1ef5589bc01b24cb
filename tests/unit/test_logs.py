"""JSON log lines: one object per line, with the fields of what the line is about."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace

import pytest

from workers import logs


@pytest.fixture
def lines() -> list[str]:
    captured: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("productsync.activity")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logs.use_format(logger, "json")
    yield captured
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_text_format_leaves_handlers_alone() -> None:
    logger = logging.getLogger("test.logs.text")
    handler = logging.StreamHandler()
    before = handler.formatter
    logger.addHandler(handler)
    logs.use_format(logger, "text")
    assert handler.formatter is before
    logger.removeHandler(handler)


def test_outcome_lines_carry_account_job_sku_and_outcome(lines: list[str]) -> None:
    row = {"account_id": 3, "job_id": 41, "run_id": None, "sku": 'A "B"\n', "action": "failed",
           "status": "failed", "error_code": "negative_price"}  # fmt: skip
    logs.outcome(row)
    [line] = lines
    assert "\n" not in line  # one object per line, whatever the SKU holds
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "productsync.activity"
    assert {k: record[k] for k in ("account", "job", "sku", "action", "status", "code")} == {
        "account": 3, "job": 41, "sku": 'A "B"\n', "action": "failed", "status": "failed",
        "code": "negative_price",
    }  # fmt: skip
    assert record["time"].endswith("+00:00")


def test_vendor_call_lines_drop_the_query_and_stay_debug_when_fine(lines: list[str]) -> None:
    logs.vendor_call("quickbooks", "123", "GET", "/v3/company/123/query?query=x", "read", 200)
    logs.vendor_call("quickbooks", "123", "POST", "/v3/company/123/item", "write", None)
    ok, failed = (json.loads(line) for line in lines)
    assert ok["level"] == "DEBUG" and failed["level"] == "INFO"
    assert ok["path"] == "/v3/company/123/query" and "query=" not in ok["message"]
    assert failed["http_status"] is None and failed["vendor_account"] == "123"
    assert failed["kind"] == "write" and failed["method"] == "POST"


def test_a_running_task_binds_its_ids_to_every_line(lines: list[str]) -> None:
    task = SimpleNamespace(name="productsync.sync_product")
    logs._bind_task(task_id="t-1", task=task, args=(77,))
    try:
        logging.getLogger("productsync.activity").warning("inside", exc_info=ValueError("x"))
    finally:
        logs._unbind_task()
    logs.outcome({"account_id": 1, "action": "created", "status": "succeeded"})
    inside, after = (json.loads(line) for line in lines)
    assert (inside["task"], inside["task_id"], inside["job"]) == ("productsync.sync_product",
                                                                 "t-1", 77)  # fmt: skip
    assert "ValueError: x" in inside["exception"]
    assert "task" not in after and "job" in after and after["job"] is None
