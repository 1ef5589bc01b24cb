from __future__ import annotations

from bench.machinery import finished
from bench.profile import ROOT, explain_cpu, library_of

LOG = "\n".join(
    [
        "[19:25:42,858: INFO/MainProcess] Task productsync.poll[1f-2] received",
        "[19:26:43,059: ERROR/ForkPoolWorker-1] Task productsync.poll[1f-2] raised unexpected: "
        "SoftTimeLimitExceeded()",
        "[19:26:44,000: INFO/ForkPoolWorker-1] Task productsync.full_sync[9a] succeeded in 3.2s: 1",
    ]
)


def test_finished_reads_the_celery_log() -> None:
    assert finished(LOG, "productsync.poll") == "SoftTimeLimitExceeded()"
    assert finished(LOG, "productsync.full_sync") == "ok: 1"
    assert finished(LOG, "productsync.sweep") is None
    assert finished("", "productsync.poll") is None
    hard = (
        "[19:27:25: ERROR/MainProcess] Hard time limit (180.0s) exceeded for productsync.poll[1f]"
    )
    assert finished(hard, "productsync.poll") == "killed at the 180 s hard time limit"


def test_library_of() -> None:
    site = "/x/.venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py"
    assert library_of(site) == "sqlalchemy"
    assert library_of(f"{ROOT}/workers/engine/sync.py") == "workers.engine"
    assert library_of("~") == "builtins"
    assert library_of("/usr/lib/python3.11/json/decoder.py") == "stdlib:decoder"


def test_explain_cpu_names_the_measured_hot_spots() -> None:
    profile = {
        "products": 100,
        "cpu_ms_per_product": 60.0,
        "self_ms_by_library": {"sqlalchemy": 20.0, "builtins": 15.0, "redis": 5.0, "x": 1.0},
        "cumulative_ms_by_function": [
            ["requests:merge_environment_settings:831", 12.0, 300],
            ["sqlalchemy:_execute_internal:2283", 19.9, 3000],
        ],
    }
    text = explain_cpu(profile)
    assert "sqlalchemy 20 ms, builtins 15 ms, redis 5 ms, x 1 ms" in text
    assert "proxy settings" in text and "(12 ms per product)" in text
    assert "ORM statements cost 19.9 ms" in text
    profile["cumulative_ms_by_function"] = []
    assert "proxy" not in explain_cpu(profile)
