"""SQLAlchemy 2.0 typed models and Alembic migrations.

Importing this package registers every table on `Base.metadata` (Alembic and tests rely
on that). Each model module holds one concept.
"""

from models.account import Account
from models.base import Base, utcnow
from models.credential import Credential
from models.cursor import Cursor
from models.field_mapping import FieldMappingRow
from models.history import HistoryEntry
from models.job import Job
from models.product_link import ProductLink
from models.sync_run import SyncRun

__all__ = [
    "Account",
    "Base",
    "Credential",
    "Cursor",
    "FieldMappingRow",
    "HistoryEntry",
    "Job",
    "ProductLink",
    "SyncRun",
    "utcnow",
]
