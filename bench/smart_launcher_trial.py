"""The EHR launch tried as a new user would, against the SMART reference launcher
(smart-on-fhir/smart-launcher-v2) in Chromium: docs/smart-launch.md, "Tried against the SMART
reference launcher", says how to start the launcher, bench/plain_fhir_server.py behind it and the
dashboard. Not a test: node and the launcher are not part of the project or its CI.

1. The launcher's own page: Provider EHR Launch, R4, the patient, no provider (so the launcher's
   practitioner login shows), optionally inside its simulated EHR (iframe); Client Registration
   "Strict" (client id, scopes, redirect URI) with PKCE "Always"; the dashboard's /launch as the
   app's launch URL; Launch.
2. The dashboard's login (dr.rivera), the launcher's practitioner login, the review.
3. The authorization code the launcher gave the dashboard is decoded (the launcher's codes are
   signed JWTs) to show the S256 challenge it holds, and replayed with a wrong verifier: the
   launcher must answer ``invalid_grant``.
4. Launches from addresses the dashboard does not trust: refused in words.

    python bench/smart_launcher_trial.py PATIENT_ID [--sim-ehr]
"""

from __future__ import annotations

import argparse
import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu"]


def launch_from_the_launcher(ctx, args) -> tuple[str, list[str]]:
    page = ctx.new_page()
    page.goto(f"{args.launcher}/")
    page.locator("#launch_type").select_option("provider-ehr")
    page.locator("#patient").fill(args.patient)
    if args.sim_ehr:
        page.locator("input[name=sim_ehr]").check()
    page.get_by_text("Client Registration & Validation").click()
    page.get_by_role("button", name="Strict").click()
    page.get_by_role("button", name="Always").click()
    page.locator("#client_id").fill(args.client_id)
    page.locator("#scope").fill("launch openid fhirUser patient/*.read")
    page.locator("#redirect_uris").fill(f"{args.dashboard}/launch")
    page.locator("#launch-url").fill(f"{args.dashboard}/launch")
    link = page.get_by_role("link", name="Launch", exact=True)
    print("the launcher's link:", link.get_attribute("href")[:160], "...")
    started = time.time()
    with ctx.expect_page() as new:
        link.click()
    app = new.value
    seen: list[str] = []
    app.on("framenavigated", lambda frame: seen.append(frame.url))
    view = app.frame_locator("iframe").first if args.sim_ehr else app
    view.get_by_text("Log in to go on").wait_for(timeout=60_000)
    view.get_by_label("User name").fill(args.user)
    view.get_by_label("Password", exact=True).fill(args.password)
    view.get_by_role("button", name="Log in").click()
    deadline = time.time() + 120
    while time.time() < deadline and not any("/provider-login" in f.url for f in app.frames):
        app.wait_for_timeout(300)
    view.locator("select").first.select_option(index=1)  # the launcher's first practitioner
    view.get_by_role("button", name="Login").click()
    view.get_by_text("Opened from the EHR at").wait_for(timeout=120_000)
    seconds = time.time() - started
    app.screenshot(path=args.screenshot)
    banner = view.get_by_text("Opened from the EHR at").first.inner_text()
    title = view.get_by_text(" · born ").first.inner_text()
    print(f"review after {seconds:.1f} s (from the Launch click, logins typed by the script):")
    print("  address:", app.url if not args.sim_ehr else [f.url for f in app.frames][-1])
    print("  banner: ", banner)
    print("  title:  ", title)
    return app.url, seen


def pkce_at_the_launcher(args, seen: list[str]) -> None:
    back = next(u for u in seen if "code=" in u)
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    claims = json.loads(base64.urlsafe_b64decode(code.split(".")[1] + "=="))
    print("the code the launcher gave the dashboard holds:",
          {k: claims.get(k) for k in ("client_id", "scope", "code_challenge_method", "code_challenge", "pkce")})
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": claims["redirect_uri"],
            "client_id": args.client_id, "code_verifier": "W" * 43}
    try:
        urllib.request.urlopen(urllib.request.Request(f"{args.launcher}/v/r4/auth/token",
                                                      urllib.parse.urlencode(form).encode()))
        print("  the same code with a wrong verifier: ACCEPTED (PKCE not verified)")
    except urllib.error.HTTPError as exc:
        print(f"  the same code with a wrong verifier: HTTP {exc.code} {json.loads(exc.read()).get('error')}")


def untrusted(browser, args) -> None:
    host = urllib.parse.urlsplit(args.launcher)
    for name, url in [
        ("the same launcher by another name (localhost)", f"{host.scheme}://localhost:{host.port}/launcher?"
         + urllib.parse.urlencode({"launch_uri": f"{args.dashboard}/launch", "fhir_ver": 4, "patient": args.patient})),
        ("the plain FHIR server behind it", f"{args.dashboard}/launch?"
         + urllib.parse.urlencode({"iss": args.plain_fhir, "launch": "x"})),
    ]:
        ctx = browser.new_context()
        page = ctx.new_page()
        page.goto(url)
        error = page.locator("[data-testid=stAlertContentError]").first
        error.wait_for(timeout=60_000)
        print(f"untrusted iss, {name}: {error.inner_text()}")
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("patient")
    parser.add_argument("--sim-ehr", action="store_true", help="inside the launcher's simulated EHR (iframe)")
    parser.add_argument("--launcher", default="http://127.0.0.1:9200")
    parser.add_argument("--dashboard", default="http://127.0.0.1:9300")
    parser.add_argument("--plain-fhir", default="http://127.0.0.1:9100")
    parser.add_argument("--client-id", default="ketamine-review")
    parser.add_argument("--user", default="dr.rivera")
    parser.add_argument("--password", default="rivera-demo-2026")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", default="smart-launcher-review.png")
    args = parser.parse_args()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 900})
        _, seen = launch_from_the_launcher(ctx, args)
        pkce_at_the_launcher(args, seen)
        untrusted(browser, args)
        browser.close()


if __name__ == "__main__":
    main()
