"""SQLAlchemy 2.0 typed models and Alembic migrations."""
