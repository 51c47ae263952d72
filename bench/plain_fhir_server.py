"""A plain, open FHIR R4 server for trying the EHR launch behind the SMART reference launcher
(smart-on-fhir/smart-launcher-v2, docs/smart-launch.md "Tried against the SMART reference launcher").

The launcher is an authorization server and a FHIR proxy in front of an *open* FHIR server
(``FHIR_SERVER_R4``, r4.smarthealthit.org on the public launcher, which holds Synthea patients).
This stands in for that server, offline: it loads FHIR transaction or collection Bundles (e.g. the
Synthea patients of smart-on-fhir/generated-sample-data kept in /work/wt/shared/data/real/synthea_r4),
resolves their ``urn:uuid:`` references to ``Type/id`` as a server does when it takes a transaction,
and answers what the launcher proxies: ``/metadata``, ``/Type/id``, and ``/Type?patient=`` (or
``subject=``) searches as ``searchset`` Bundles paged by ``_count`` with absolute ``next`` links.

Every request is one line on stdout (method, path, query, Authorization present or not), so the
trial can show which patients' data were read. Not part of the dashboard; not used by the tests.

    python bench/plain_fhir_server.py --port 9100 BUNDLE.json [BUNDLE.json ...]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

FHIR_JSON = "application/fhir+json"


def load(paths: list[str]) -> dict[str, dict[str, dict]]:
    """{type: {id: resource}} from the Bundles, ``urn:uuid:X`` references made ``Type/X``."""
    store: dict[str, dict[str, dict]] = {}
    urns: dict[str, str] = {}
    resources = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            bundle = json.load(fh)
        for entry in bundle.get("entry") or []:
            resource = entry["resource"]
            full = entry.get("fullUrl", "")
            rid = resource.get("id") or full.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            resource["id"] = rid
            if full.startswith("urn:uuid:"):
                urns[full] = f"{resource['resourceType']}/{rid}"
            resources.append(resource)
    text = json.dumps(resources)
    text = re.sub(r'"(urn:uuid:[0-9a-fA-F-]+)"', lambda m: json.dumps(urns.get(m.group(1), m.group(1))), text)
    for resource in json.loads(text):
        store.setdefault(resource["resourceType"], {})[resource["id"]] = resource
    return store


def _patient_of(resource: dict) -> str | None:
    ref = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
    return ref.split("/", 1)[1] if ref.startswith("Patient/") else None


def make_handler(store: dict, base_holder: dict, max_count: int = 500):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # one line per request, below
            pass

        def _send(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", f"{FHIR_JSON}; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 - http.server's name
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            path = parts.path.strip("/")
            print(f"FHIR GET /{path}?{parts.query} auth={'yes' if self.headers.get('Authorization') else 'no'}",
                  flush=True)
            base = base_holder["base"]
            if path == "metadata":
                return self._send(200, {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                                        "fhirVersion": "4.0.1", "format": ["json"], "date": "2026-12-08",
                                        "rest": [{"mode": "server", "resource": [
                                            {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}]}
                                            for t in sorted(store)]}]})
            segs = path.split("/")
            if len(segs) == 2:
                resource = store.get(segs[0], {}).get(segs[1])
                if resource is None:
                    return self._send(404, {"resourceType": "OperationOutcome", "issue": [
                        {"severity": "error", "code": "not-found", "diagnostics": f"{path} not found"}]})
                return self._send(200, resource)
            if len(segs) == 1 and segs[0][:1].isupper():  # a search of a resource type
                kind = segs[0]
                who = (query.get("patient") or query.get("subject") or "").removeprefix("Patient/")
                found = [r for r in store.get(kind, {}).values() if not who or _patient_of(r) == who]
                if kind == "Patient" and who:
                    found = [r for r in store.get(kind, {}).values() if r["id"] == who]
                if query.get("_sort:desc") == "date" or query.get("_sort") == "-date":
                    found.sort(key=lambda r: json.dumps(r.get("period") or r.get("effectiveDateTime") or ""),
                               reverse=True)
                count = max(1, min(int(query.get("_count", 50)), max_count))  # servers cap _count
                offset = int(query.get("_offset", 0))
                page = found[offset:offset + count]
                links = [{"relation": "self", "url": f"{base}/{kind}?{parts.query}"}]
                if offset + count < len(found):
                    nxt = {**query, "_offset": offset + count, "_count": count}
                    links.append({"relation": "next", "url": f"{base}/{kind}?{urlencode(nxt)}"})
                return self._send(200, {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                                        "link": links, "entry": [
                                            {"fullUrl": f"{base}/{kind}/{r['id']}", "resource": r,
                                             "search": {"mode": "match"}} for r in page]})
            return self._send(404, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "not-supported", "diagnostics": f"/{path} is not served here"}]})

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--max-count", type=int, default=20, help="the largest page a search returns")
    parser.add_argument("bundles", nargs="+")
    args = parser.parse_args(argv)
    store = load(args.bundles)
    base_holder = {"base": f"http://127.0.0.1:{args.port}"}
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(store, base_holder, args.max_count))
    for patient in store.get("Patient", {}).values():
        n = sum(1 for kind in store.values() for r in kind.values() if _patient_of(r) == patient["id"])
        print(f"Patient/{patient['id']} {patient['name'][0].get('given')} {patient['name'][0].get('family')}: "
              f"{n} resources", flush=True)
    print(f"plain FHIR R4 server at {base_holder['base']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
