"""The one `MetaData` every feature's tables live on, with stable constraint names."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, MetaData

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
