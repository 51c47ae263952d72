"""Many rows into one table inside the import's transaction: new primary keys taken up front,
and the rows sent by COPY on PostgreSQL through psycopg 3 (one stream, built column by column)
or by one DBAPI executemany elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


def take_ids(session: Session, table, count: int) -> list[int]:
    """``count`` new primary keys for ``table``, in order, inside the import's transaction.

    PostgreSQL: from the table's sequence, as the column default would. SQLite: the ids it would
    give itself (the largest rowid plus one, then on): the import record is already written, so
    this transaction holds SQLite's write lock and nobody else can take them meanwhile.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The sequence's name is looked up once and written into the query as a constant:
        # pg_get_serial_sequence in the select list is evaluated per row (0.6 s for 100,000 ids).
        sequence = session.scalar(text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name})
        literal = "'" + sequence.replace("'", "''") + "'"
        return session.connection().exec_driver_sql(
            f"SELECT nextval({literal}::regclass) FROM generate_series(1, {int(count)})").scalars().all()
    highest = session.scalar(text(f"SELECT max(id) FROM {table.name}")) or 0
    return list(range(highest + 1, highest + 1 + count))


def copy_supported(connection) -> bool:
    """PostgreSQL through psycopg 3 can take the rows with COPY (one stream, no statement per row)."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def bulk_insert(session: Session, table, columns: dict[str, list], *, meanwhile=None) -> None:
    """Insert rows given as columns (name -> values, all of one length) in the session's transaction.

    Each value goes through the column type's bind processor, as SQLAlchemy's own insert would
    (SQLite keeps datetimes as text in SQLAlchemy's format), so what is stored is the same; then
    COPY on PostgreSQL (:func:`copy_supported`) or one DBAPI executemany elsewhere, without
    SQLAlchemy building a parameter dict per row. A database error comes out as SQLAlchemy's
    (an ``IntegrityError`` when a concurrent import stored the same entry: the import retries).
    ``meanwhile()`` is called once the rows are handed over: with COPY, while the server is still
    storing them; elsewhere, after.
    """
    connection = session.connection()
    dialect = connection.dialect
    names = list(columns)
    values = []
    for name in names:
        process = table.c[name].type._cached_bind_processor(dialect)
        values.append(columns[name] if process is None else [process(v) for v in columns[name]])
    quoted = ", ".join(dialect.identifier_preparer.quote(n) for n in names)
    if copy_supported(connection):
        _copy(connection, f"COPY {table.name} ({quoted}) FROM STDIN", values, meanwhile)
        return
    marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in names)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({quoted}) VALUES ({marks})", list(zip(*values)))
    if meanwhile is not None:
        meanwhile()


COPY_CHUNK_ROWS = 10_000  # rows formatted per write: the server stores one chunk while the next is formatted


def _copy(connection, statement: str, values: list[list], meanwhile=None) -> None:
    """COPY FROM STDIN in PostgreSQL's text format, the payload built column by column
    (:func:`copy_text`); columns of a type it does not know go row by row through psycopg.
    A thread of psycopg's sends the chunks, so the next chunk is built while the server reads one."""
    import psycopg  # start-up: ~0.2 s (python -X importtime), paid only by an import into PostgreSQL
    from psycopg.copy import QueuedLibpqWriter  # start-up: with psycopg above

    count = len(values[0]) if values else 0
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
            for start in range(0, count, COPY_CHUNK_ROWS):
                chunk = [column[start:start + COPY_CHUNK_ROWS] for column in values]
                payload = copy_text(chunk)
                if payload is None:
                    for row in zip(*chunk):
                        copy.write_row(row)
                else:
                    copy.write(payload)
            if meanwhile is not None:
                meanwhile()
    except psycopg.Error as exc:

        raise DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=connection.dialect) from exc
    finally:
        cursor.close()


_NULL = "\\N"


def copy_text(columns: list[list]) -> str | None:
    """The rows given as columns in COPY's text format (one line per row, ending in a line break),
    or None when a column holds a value this does not format exactly as psycopg would (then the
    caller writes row by row).

    Floats are written as ``repr`` (the shortest text that reads back to the same double),
    datetimes and dates in ISO form without a zone (only naive datetimes: the columns are
    ``timestamp without time zone``), booleans as t/f, None as ``\\N``; text is escaped.
    """
    if not columns:
        return None
    texts = []
    for column in columns:
        formatted = _column_text(column)
        if formatted is None:
            return None
        texts.append(formatted)
    if not texts[0]:
        return ""
    return "\n".join(map("\t".join, zip(*texts))) + "\n"


def _column_text(column: list) -> list[str] | None:
    kinds = set(map(type, column))
    kinds.discard(type(None))
    if not kinds:
        return [_NULL] * len(column)
    if len(kinds) > 1:
        if kinds <= {int, float}:  # a float column holding whole numbers as ints
            return [_NULL if v is None else repr(float(v)) for v in column]
        return None
    kind = kinds.pop()
    if kind is str:
        if any("\x00" in v for v in column if v is not None):
            return None  # PostgreSQL text cannot hold NUL: psycopg's own error says so
        # COPY's text format: a backslash escapes (so it goes first), a tab ends a column, a line break a row.
        return [_NULL if v is None else v.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r") for v in column]
    if kind is float:
        return [_NULL if v is None else repr(v) for v in column]
    if kind is int:
        return [_NULL if v is None else str(v) for v in column]
    if kind is bool:
        return [_NULL if v is None else ("t" if v else "f") for v in column]
    if kind is datetime:
        if any(v.tzinfo is not None for v in column if v is not None):
            return None
        return [_NULL if v is None else v.isoformat(" ") for v in column]
    if kind is date:
        return [_NULL if v is None else v.isoformat() for v in column]
    return None
