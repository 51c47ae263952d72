"""A file name or account name from the command line that no database can store (an undecodable
byte arrives in Python as a lone surrogate) is kept as its escape: the import is refused or done
and audited, never a traceback (issue 24, "no traceback, no file lost")."""

from __future__ import annotations

import json
import os

import pytest
from sqlalchemy import select

from dashboard import cli
from dashboard.db.models import AuditEvent, ImportRecord
from dashboard.db.session import session_scope


@pytest.mark.parametrize("argv_name", ["diary-\udcff.csv", "\ud800.csv"])
def test_an_unstorable_file_name_is_kept_escaped(db_url, tmp_path, monkeypatch, capsys, argv_name):
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    path = tmp_path / "diary.csv"
    path.write_text("patient_id,date,pain\nP-1,2026-03-01,5\n")
    link = os.fsencode(tmp_path) + b"/" + argv_name.encode("utf-8", "surrogateescape") if "\udcff" in argv_name \
        else None
    if link is not None:
        os.link(path, link)
        name = os.fsdecode(link)
    else:  # a lone surrogate that no file system name carries: the reading fails with a clear line
        name = str(tmp_path / argv_name)
    code = cli.main(["import", name, "--json"])
    out, err = capsys.readouterr()
    if link is None:
        assert code == cli.EXIT_USAGE and "cannot read the file" in err
        return
    assert code == cli.EXIT_OK, err
    assert json.loads(out)["status"] == "imported"
    with session_scope(db_url) as session:
        (record,) = session.scalars(select(ImportRecord)).all()
        assert record.file_name == "diary-\\udcff.csv"
        details = [e.detail for e in session.scalars(select(AuditEvent))]
    assert any("diary-\\\\udcff.csv" in d or "diary-\\udcff.csv" in d for d in details)


def test_an_unstorable_account_name_is_refused_and_audited(db_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    path = tmp_path / "diary.csv"
    path.write_text("patient_id,date,pain\nP-1,2026-03-01,5\n")
    code = cli.main(["import", str(path), "--as", "dr.\udcffx"])
    _, err = capsys.readouterr()
    assert code == cli.EXIT_REFUSED and "not an enabled account" in err
