"""SQLAlchemy 2.0 typed models and Alembic migrations.

Importing this package registers every table on `Base.metadata` (Alembic and tests rely
on that). Each model module holds one concept.
"""

from models.account import Account
from models.base import Base, utcnow
from models.credential import Credential

__all__ = ["Account", "Base", "Credential", "utcnow"]
