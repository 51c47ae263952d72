"""Many worklists opened at once (a clinic's morning, or the first list after an import): each
stale patient's review is built once in the server process, not once per worklist, the review
page then opens warm, and no worklist waits for a second database connection while holding one."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
import streamlit as st
from sqlalchemy import delete

from dashboard import loaders
from dashboard.analysis import review as review_module
from dashboard.db.models import ReviewSnapshot
from dashboard.db.session import get_engine, session_scope
from dashboard.demo import build_demo
from tests.app.conftest import account, app, shared_with

WORKLISTS = 6


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite's pool is not the one sized here
def test_worklists_opened_at_once_build_each_stale_review_once(db_url, monkeypatch):
    with session_scope(db_url) as session:
        today = date.fromisoformat(build_demo(session, seed=7)["today"])
        session.execute(delete(ReviewSnapshot))  # every snapshot stale, as after a night without precompute
    # One connection per process and no overflow: a worklist that kept its connection while a
    # review read with another would wait for itself until the pool's timeout.
    monkeypatch.setenv("DASHBOARD_DB_POOL_SIZE", "1")
    monkeypatch.setenv("DASHBOARD_DB_MAX_OVERFLOW", "0")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    get_engine(db_url).dispose()
    get_engine.cache_clear()
    from dashboard.db import session as session_module
    session_module._sessionmaker.cache_clear()
    assert get_engine(db_url).pool.size() == 1
    st.cache_data.clear()
    st.cache_resource.clear()

    built: list[str] = []
    original = review_module.build_review

    def counting_build_review(**kwargs):
        built.append(kwargs["patient"].ref)
        return original(**kwargs)

    monkeypatch.setattr(review_module, "build_review", counting_build_review)
    user = account(db_url, "dr.rivera")
    results, errors = [], []
    start = threading.Barrier(WORKLISTS)

    def open_worklist():
        try:
            start.wait()
            results.append(loaders.worklist(user, as_of=today, start=today, end=today + timedelta(days=7),
                                            everyone=True, audit_view=False))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_worklist) for _ in range(WORKLISTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert len(results) == WORKLISTS
        listed = {row.ref for row in results[0]}
        assert listed == shared_with("dr.rivera")
        assert all({row.ref for row in rows} == listed for rows in results)
        assert sorted(built) == sorted(listed)  # each stale review built once, by whichever list came first

        # Opening a listed patient reuses the review the worklist built.
        built.clear()
        ref = sorted(listed)[0]
        at = app("review", user=user, patient=ref)
        at.session_state["as_of"] = today
        at.run()
        assert not at.exception
        assert built == []
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_engine(db_url).dispose()
        get_engine.cache_clear()
        session_module._sessionmaker.cache_clear()
