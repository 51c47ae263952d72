"""The connection pool per server process is sized from the environment (README, "More than one server")."""

from __future__ import annotations

import pytest

from dashboard.config import pool_settings
from dashboard.db.session import get_engine


def test_pool_size_and_overflow_come_from_the_environment(db_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_POOL_SIZE", "3")
    monkeypatch.setenv("DASHBOARD_DB_MAX_OVERFLOW", "7")
    if not db_url.startswith("postgresql"):
        assert pool_settings() == (3, 7)
        return
    pool = get_engine(db_url).pool  # a new database's URL: an engine made now, with these settings
    assert (pool.size(), pool._max_overflow) == (3, 7)


@pytest.mark.parametrize("value", ["five", "-1", "2.5"])
def test_a_pool_size_that_is_not_a_whole_number_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("DASHBOARD_DB_POOL_SIZE", value)
    with pytest.raises(ValueError, match=f"DASHBOARD_DB_POOL_SIZE must be a whole number of connections, not '{value}'"):
        pool_settings()
