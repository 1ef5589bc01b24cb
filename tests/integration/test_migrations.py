"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import models
from models.migrate import downgrade, upgrade
from tests.support.services import fresh_database


def test_migrations_match_models_and_downgrade_cleanly() -> None:
    with fresh_database() as url:
        upgrade(url)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
            assert diff == [], f"models and migrations disagree: {diff}"
            downgrade(url, "base")
            upgrade(url)
        finally:
            engine.dispose()
