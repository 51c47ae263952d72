"""A whole-database dump, to prove a refused import changed nothing."""

from sqlalchemy import select

from dashboard.db.models import Base
from dashboard.db.session import get_engine


def dump(url: str, *, skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    out = {}
    with get_engine(url).connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            if name in skip:
                continue
            out[name] = sorted((tuple(r) for r in conn.execute(select(table))), key=repr)
    return out
