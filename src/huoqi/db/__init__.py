"""Storage: engines, the shared SQLAlchemy metadata, and migrations."""
