"""Database-side guards of the ledger, kept apart so migrations can recreate them.

* Entries and postings are append-only on both databases: UPDATE and DELETE are refused.
* PostgreSQL also refuses, at commit, an entry whose postings do not sum to zero per asset
  (a deferred constraint trigger, so the postings of one entry can be inserted one by one).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

APPEND_ONLY = ("entries", "postings")
SHANGHAI = ZoneInfo("Asia/Shanghai")

_PG_FUNCTIONS = [
    """
    CREATE FUNCTION huoqi_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% is append-only: correct a mistake with a reversing entry',
            TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
    END $$
    """,
    """
    CREATE FUNCTION huoqi_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        off record;
    BEGIN
        -- The trigger fires once per posting, at commit. Only an entry's first posting
        -- checks the whole entry: re-summing a 100,000-line income entry for each of its
        -- lines would be quadratic. (entry_id, id) is indexed, so this test is one probe.
        IF EXISTS (SELECT 1 FROM postings WHERE entry_id = NEW.entry_id AND id < NEW.id) THEN
            RETURN NULL;
        END IF;
        SELECT a.asset, sum(p.amount) AS total INTO off
          FROM postings p JOIN accounts a ON a.id = p.account_id
         WHERE p.entry_id = NEW.entry_id
         GROUP BY a.asset
        HAVING sum(p.amount) <> 0
         LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'journal entry % does not balance: % is off by % minor units',
                NEW.entry_id, off.asset, off.total USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END $$
    """,
]


def create_guards(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        for function in _PG_FUNCTIONS:
            connection.execute(text(function))
        for table in APPEND_ONLY:
            connection.execute(
                text(
                    f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                    "FOR EACH ROW EXECUTE FUNCTION huoqi_refuse_change()"
                )
            )
            connection.execute(
                text(
                    f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION huoqi_refuse_change()"
                )
            )
        connection.execute(
            text(
                "CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                "EXECUTE FUNCTION huoqi_check_entry_balanced()"
            )
        )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            connection.execute(
                text(
                    f"CREATE TRIGGER {table}_append_only_{action.lower()} "
                    f"BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, "
                    f"'{table} is append-only: correct a mistake with a reversing entry'); END"
                )
            )


def drop_guards(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("DROP TRIGGER IF EXISTS postings_balanced ON postings"))
        for table in APPEND_ONLY:
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}"))
        connection.execute(text("DROP FUNCTION IF EXISTS huoqi_check_entry_balanced()"))
        connection.execute(text("DROP FUNCTION IF EXISTS huoqi_refuse_change()"))
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}"))


def initial_rows(connection: Connection) -> None:
    """The CNY asset and the first business date (today in Shanghai)."""
    connection.execute(
        text("INSERT INTO assets (code, scale, name) VALUES ('CNY', 2, 'Chinese yuan (fen)')")
    )
    connection.execute(
        text("INSERT INTO ledger_state (id, business_date) VALUES (1, :today)"),
        {"today": datetime.now(SHANGHAI).date()},
    )
