"""`productsync full-sync`: send every source product through the sync, optionally waiting."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from console import views
from console.actions import QueueUnavailable, start_full_sync
from console.output import (
    account_named,
    account_option,
    duration,
    echo_json,
    json_option,
    session,
    settings,
)
from models import SyncRun

POLL_SECONDS = 0.5
STALL_HINT_SECONDS = 30.0
BAR_WIDTH = 30


@click.command("full-sync")
@account_option()
@click.option("--wait", is_flag=True, help="Show progress until the run is done.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=0,
    help="With --wait: give up waiting after this many seconds (0: never).",
)
@json_option
def command(account_name: str, wait: bool, timeout: float, as_json: bool) -> None:
    """Sync every product of the account's source now (first setup, or to catch up).

    Products that are already identical cost no write. With --wait the command shows a
    progress bar and exits with status 1 if any product failed (see `productsync history
    --status failed`), 3 if --timeout ran out, 0 when every product synced.
    """
    s = settings()
    with session() as db:
        account_id = account_named(db, account_name).id
    try:
        run_id = start_full_sync(s, account_id)
    except QueueUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    if not wait:
        if as_json:
            echo_json({"account": account_name, "run": run_id, "status": "started"})
        else:
            click.echo(
                f"full sync #{run_id} of {account_name} started; follow it with "
                f"`productsync status --account {account_name}`"
            )
        return
    progress = _wait(run_id, timeout=timeout, quiet=as_json)
    if as_json:
        echo_json({"account": account_name, **progress})
    else:
        click.echo(
            f"full sync #{run_id} {progress['status']} in {duration(progress['elapsed_seconds'])}: "
            f"{progress['created']} created, {progress['updated']} updated, "
            f"{progress['unchanged']} unchanged, {progress['skipped']} skipped, "
            f"{progress['failed']} failed"
        )
        if progress.get("error"):
            click.echo(f"error: {progress['error']}", err=True)
        if progress["failed"]:
            click.echo(
                f"see why: productsync history --account {account_name} --status failed",
                err=True,
            )
    if progress["status"] not in ("finished", "failed"):
        sys.exit(3)
    if progress["failed"] or progress["status"] == "failed":
        sys.exit(1)


def _wait(run_id: int, *, timeout: float, quiet: bool) -> dict[str, Any]:
    started = time.monotonic()
    bar = _Bar(enabled=not quiet)
    last_done, last_change = -1, time.monotonic()
    hinted = False
    while True:
        with session() as db:
            run = db.get(SyncRun, run_id)
            assert run is not None  # created above, runs are never deleted
            progress = views.run_progress(run)
        bar.show(progress)
        if progress["status"] in ("finished", "failed"):
            bar.close()
            return progress
        now = time.monotonic()
        if progress["done"] != last_done:
            last_done, last_change = progress["done"], now
        elif not hinted and now - last_change > STALL_HINT_SECONDS and not quiet:
            bar.note("no progress for 30s: are the workers running? (`productsync status`)")
            hinted = True
        if timeout and now - started > timeout:
            bar.close()
            return progress
        time.sleep(POLL_SECONDS)


class _Bar:
    """One redrawn line on a terminal; a line per 10 % step otherwise (logs, CI)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stdout.isatty()
        self.last_step = -1
        self.last_line = ""
        self.drawn = False

    def show(self, p: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if p["status"] == "enumerating":
            line = f"listing source products... {duration(p['elapsed_seconds'])}"
        elif p["status"] == "waiting":
            line = views.wait_line(p["wait_reason"], p["next_attempt_at"])
        else:
            filled = int(BAR_WIDTH * p["percent"] / 100)
            line = (
                f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {p['percent']:5.1f}% "
                f"{p['done']}/{p['total']}  {p['failed']} failed  "
                f"{duration(p['elapsed_seconds'])}"
            )
        if self.tty:
            click.echo("\r" + line.ljust(79), nl=False)
            self.drawn = True
            return
        step = -1 if p["status"] == "enumerating" else int(p["percent"] // 10)
        if p["status"] == "waiting":
            step = -2
        if step != self.last_step or (step == -2 and line != self.last_line):
            self.last_step = step
            click.echo(line)
        self.last_line = line

    def note(self, text: str) -> None:
        if self.drawn:
            click.echo("")
            self.drawn = False
        click.echo(text, err=True)

    def close(self) -> None:
        if self.enabled and self.drawn:
            click.echo("")
            self.drawn = False
