"""Engines and sessions. Lifecycle lives here, outside the domain code.

One engine per process, created lazily and re-created after fork (Celery prefork
children must never share their parent's connections).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[tuple[int, str], Engine] = {}
# The poll worker runs its tasks in threads: they share the process's one engine.
_lock = threading.Lock()


def engine_for(url: str) -> Engine:
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        with _lock:
            engine = _engines.get(key)
            if engine is None:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
                _engines[key] = engine
    return engine


def dispose_all() -> None:
    """Forget every engine (call after fork, before any query in the child)."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any exception."""
    session = sessionmaker(bind=engine_for(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
