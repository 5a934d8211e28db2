"""The one `MetaData` every feature's tables live on, with stable constraint names."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Dialect, Integer, MetaData, TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_N_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: A 64-bit id that is SQLite's rowid alias (``INTEGER PRIMARY KEY``) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

#: Money and share amounts, always in minor units.
Minor = BigInteger


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back with its zone on every database.

    SQLite keeps a datetime's wall-clock text and drops its zone, so a Shanghai time and a
    UTC time would compare wrongly; this type converts every bound value to UTC first and
    labels what it reads as UTC. Naive datetimes are refused: a moment needs its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored moment must carry its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)
