"""Storage: SQLAlchemy 2 models, engine and session, unit of work, Alembic migrations."""
