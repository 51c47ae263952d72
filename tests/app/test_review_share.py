"""The review page's "Patient upload link" panel with AppTest, on a copy of the demo clinic: a link
made with its days and uses, its address and QR code shown until hidden (never stored), listed
with its state, revoked with one click, each step audited."""

from __future__ import annotations

import json

from dashboard.db.models import ShareLink
from dashboard.db.session import session_scope
from dashboard.db.share_links import token_hash
from tests.app.conftest import account, app, audit_rows, last_audit_id, texts

REF = "DEMO-001"  # shared with dr.rivera


def _review(url, username="dr.rivera"):
    at = app("review", user=account(url, username), patient=REF).run()
    assert not at.exception, at.exception
    return at


def test_a_link_is_made_shown_once_listed_and_revoked(clinic_url):
    at = _review(clinic_url)
    assert "Patient upload link" in [e.label for e in at.expander]
    assert "No upload links yet." in texts(at)
    at.number_input[[n.label for n in at.number_input].index("Works for (days)")].set_value(30)
    at.number_input[[n.label for n in at.number_input].index("Submissions allowed (0: no limit)")].set_value(2)
    before = last_audit_id(clinic_url)
    at = next(b for b in at.button if b.label == "Create link").click().run()
    assert not at.exception, at.exception
    address = next(c.value for c in at.code if "/share/" in c.value)
    token = address.rsplit("/", 1)[-1]
    assert len(at.get("image")) == 1  # the QR code
    with session_scope(clinic_url) as session:
        link = session.query(ShareLink).filter_by(token_sha256=token_hash(token)).one()
        assert (link.max_uses, (link.expires_at - link.created_at).days, link.created_by) == (2, 30, "dr.rivera")
        link_id = link.id
    rows = audit_rows(clinic_url, before)
    assert [(r[0], r[1], r[2]) for r in rows] == [("dr.rivera", "share_link_create", "ok")]
    assert token not in rows[0][4] and json.loads(rows[0][4])["link"] == link_id
    shown = texts(at)
    assert f"Link {link_id}" in shown and "live" in shown and "uses 0 of 2" in shown
    at = next(b for b in at.button if b.label == "Hide the address").click().run()
    assert token not in texts(at)  # gone, and nowhere to be found again
    before = last_audit_id(clinic_url)
    at = next(b for b in at.button if b.key == f"share_link_revoke_{link_id}").click().run()
    assert not at.exception
    assert "revoked" in texts(at) and not [b for b in at.button if b.key == f"share_link_revoke_{link_id}"]
    assert [(r[0], r[1], r[2]) for r in audit_rows(clinic_url, before)] == [("dr.rivera", "share_link_revoke", "ok")]


def test_the_panel_is_offered_only_to_those_who_may_make_links(clinic_url):
    from dashboard.auth import accounts

    with session_scope(clinic_url) as session:  # an administrator the patient is shared with: imports clinic-wide
        accounts.share(session, username="alex.admin", patient_ref=REF)
    assert "Patient upload link" in [e.label for e in _review(clinic_url, "alex.admin").expander]
    at = app("review", user=account(clinic_url, "dr.chen"), patient=REF).run()  # not shared with dr.chen
    assert "Patient upload link" not in [e.label for e in at.expander]
