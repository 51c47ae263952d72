"""Two app servers against one PostgreSQL, behind nginx with the repository's own proxy config.

What a clinic group runs (README, "More than one server"): several ``streamlit run`` processes,
one database, nginx routing each browser to one process by its ``dashboard_route`` cookie. Two
people import the same file at the same moment, one through each process: it is stored once.
A clinician with a review open on one process sees, on the next run, an import made through the other.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.db.models import DiaryEntry, ImportRecord, Patient
from dashboard.db.session import session_scope
from tests.app.conftest import PASSWORDS
from tests.conftest import _pg_drop, require
from tests.e2e.conftest import ARTIFACTS, REPO, _free_port, login, start_server

pytestmark = pytest.mark.e2e
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = REPO / "deploy" / "nginx"
REF = "DEMO-001"  # shared with dr.rivera


@pytest.fixture(scope="module")
def clinic_pg(_demo_templates, tmp_path_factory):
    """A copy of the demo clinic on PostgreSQL (built once per worker, tests/conftest.py)."""
    url, name = _demo_templates.copy("postgresql", tmp_path_factory.mktemp("two"), "dash_two")
    yield url
    _pg_drop(name, url)


def _nginx_conf(workdir: Path, port: int, upstreams: list[str]) -> Path:
    """The repository's upstream and proxy files, with this test's two servers and a plain port.

    Only the ``server host:port;`` lines of the upstream change; the stickiness, the websocket and the
    upload settings are the ones a clinic deploys. A test-only log says which process each route reached.
    """
    upstream = (DEPLOY / "dashboard-upstream.conf").read_text()
    servers = "".join(f"    server {u};\n" for u in upstreams)
    upstream, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+;\n(?:    server 127\.0\.0\.1:\d+;\n)*", servers, upstream)
    assert n == 1, "dashboard-upstream.conf: the server lines were not found"
    (workdir / "upstream.conf").write_text(upstream)
    (workdir / "nginx.conf").write_text(f"""
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format route '$dashboard_route $upstream_addr';
    access_log {workdir}/route.log route;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    include {workdir}/upstream.conf;
    server {{
        listen 127.0.0.1:{port};
        include {DEPLOY / "dashboard-proxy.conf"};
    }}
}}
""")
    return workdir / "nginx.conf"


@pytest.fixture(scope="module")
def proxy(clinic_pg, tmp_path_factory):
    require(Path(NGINX).exists(), f"nginx not found at {NGINX} (apt-get install nginx-light)")
    workdir = tmp_path_factory.mktemp("nginx")
    servers = [start_server(clinic_pg), start_server(clinic_pg)]
    port = _free_port()
    conf = _nginx_conf(workdir, port, [base.removeprefix("http://") for _, base in servers])
    check = subprocess.run([NGINX, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    log = open(workdir / "nginx.out", "wb")  # noqa: SIM115 - closed with the process
    nginx = subprocess.Popen([NGINX, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(60):
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                break
        except OSError:
            time.sleep(0.25)
    yield base, [b.removeprefix("http://") for _, b in servers], workdir / "route.log"
    nginx.terminate()
    nginx.wait(timeout=20)
    for proc, _ in servers:
        proc.terminate()
        proc.wait(timeout=20)


def _served_by(route_log: Path, route: str) -> set[str]:
    """Every process the requests of one route cookie reached (nginx logs after each response)."""
    lines = route_log.read_text().splitlines() if route_log.exists() else []
    return {line.split(" ", 1)[1] for line in lines if line.startswith(route + " ")}


def _browser_on(browser, base: str, upstream: str, route_log: Path, tries: int = 40):
    """A browser context whose route cookie sends it to ``upstream`` (a new random cookie per try)."""
    for _ in range(tries):
        context = browser.new_context(viewport={"width": 1366, "height": 768})
        page = context.new_page()
        page.goto(base)
        route = {c["name"]: c["value"] for c in context.cookies()}.get("dashboard_route")
        assert route, "the proxy did not set the route cookie (or the browser refused it)"
        page.get_by_label("User name").wait_for(timeout=60_000)  # the app answered over its websocket
        served = _served_by(route_log, route)
        if served == {upstream}:
            return context, page, route
        assert len(served) == 1, f"one browser's requests went to several processes: {served}"
        context.close()
    pytest.fail(f"no route cookie reached {upstream} in {tries} tries")


def _import(page, name: str, body: bytes) -> None:
    page.locator("[data-testid='stSidebarNav'] a", has_text="Import").click()
    page.locator("input[type='file']").first.set_input_files(files=[{"name": name, "mimeType": "text/csv",
                                                                     "buffer": body}])
    page.get_by_role("button", name="Import", exact=True).wait_for(timeout=60_000)


def _go(page, path: str) -> None:
    """In-app navigation, as a click in the sidebar does: the session (and its login) stays."""
    page.evaluate("""(path) => { history.pushState({}, '', path);
                                 window.dispatchEvent(new PopStateEvent('popstate', {state: {}})); }""", path)


def _entries(url: str, ref: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count(DiaryEntry.id)).join(Patient).where(Patient.ref == ref))


def test_the_same_file_through_both_servers_at_once_is_stored_once(proxy, clinic_pg, browser):
    base, (a, b), route_log = proxy
    rows = "".join(f"TWO-SRV,2026-10-{day:02d}T20:00,{day % 10},\n" for day in range(1, 21))
    body = f"patient_id,date,pain,notes\n{rows}".encode()
    pages = []
    try:
        for upstream in (a, b):
            context, page, route = _browser_on(browser, base, upstream, route_log)
            pages.append((context, page))
            login(page, base, "sam.staff", PASSWORDS["sam.staff"])
            _import(page, "same-file.csv", body)
        for _, page in pages:  # both press Import within a few milliseconds
            page.get_by_role("button", name="Import", exact=True).click(no_wait_after=True)
        for _, page in pages:
            # Whichever write came second either lost the race in the database or, when its rerun's
            # check came after the first commit, was told the file is already stored: both are right.
            page.get_by_text(re.compile(r"^(Result|Everything in this file is already stored\. Nothing to import\.)$")
                             ).first.wait_for(timeout=90_000)
    finally:
        for i, (_, page) in enumerate(pages):
            page.screenshot(path=str(ARTIFACTS / f"two-servers-import-{i}.png"), full_page=True)
    assert _entries(clinic_pg, "TWO-SRV") == 20
    with session_scope(clinic_pg) as session:
        stored = session.execute(select(ImportRecord.status, ImportRecord.entries_added)
                                 .where(ImportRecord.file_name == "same-file.csv")).all()
    assert sorted(s for s, n in stored if n) == ["imported"] and sum(n for _, n in stored) == 20
    for context, _ in pages:
        context.close()
    # Sticky: every request of each browser (page, websocket, upload) reached one process only.
    routes = {line.split(" ", 1)[0] for line in route_log.read_text().splitlines()}
    assert all(len(_served_by(route_log, r)) == 1 for r in routes)


def test_a_review_on_one_server_shows_an_import_made_through_the_other(proxy, clinic_pg, browser):
    base, (a, b), route_log = proxy
    reviewer, rpage, _ = _browser_on(browser, base, a, route_log)
    importer, ipage, _ = _browser_on(browser, base, b, route_log)
    try:
        login(rpage, base, "dr.rivera", PASSWORDS["dr.rivera"])
        _go(rpage, f"/review?patient={REF}")
        header = rpage.get_by_text(re.compile(r"\d+ imports? \("))
        header.wait_for(timeout=60_000)
        before = int(re.search(r"(\d+) imports? \(", header.inner_text()).group(1))

        login(ipage, base, "sam.staff", PASSWORDS["sam.staff"])
        _import(ipage, "through-b.csv", f"patient_id,date,pain\n{REF},2026-01-03T07:00,4\n".encode())
        ipage.get_by_role("button", name="Import", exact=True).click()
        ipage.get_by_text("Result").wait_for(timeout=60_000)

        # The reviewer's next run on process A: away and back to the review, in the app.
        _go(rpage, "/")
        _go(rpage, f"/review?patient={REF}")
        rpage.get_by_text(re.compile(rf"\b{before + 1} imports \(")).wait_for(timeout=60_000)
    finally:
        rpage.screenshot(path=str(ARTIFACTS / "two-servers-review.png"), full_page=True)
        reviewer.close()
        importer.close()
