"""The file to resources: one JSON document or NDJSON (one resource a line), Bundles of any
type opened, nested ones too; a line or an entry that is not a resource is refused with its
place, and the rest of the file is still read.

FHIR XML (a root element in the namespace ``http://hl7.org/fhir``) is refused as a whole, in
words that say what to do (import-formats.md v3): the same data exported as JSON imports. No
well-kept library reads FHIR XML into the shapes read here, and a second reader of our own
would be a second place for every rule to be got wrong."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from dashboard.ingest.fhir.values import _Bad, _objects, _shown
from dashboard.ingest.records import FileRefused, RefusedRow
from dashboard.patient_ref import problem as _ref_problem
from dashboard.text_rules import escaped, unstorable

FHIR_NAMESPACE = "http://hl7.org/fhir"
FHIR_XML_REFUSAL = "FHIR XML is not read; export the same data as JSON"
# What may come before an XML document's root element: the declaration, processing
# instructions, comments, a document type, and white space between them.
_XML_PROLOG = re.compile(r"(?:\s|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)*", re.S)
_XML_ROOT = re.compile(r"<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)((?:\s[^>]*)?)/?>", re.S)

# Real resources nest a few dozen levels at most; a deeper document would exhaust Python's
# recursion when a refusal quotes it, so it is refused as a whole.
MAX_DEPTH = 100


@dataclass
class _Resource:
    body: dict
    where: str  # "Observation/abc", or "Observation (line 3)" without an id
    full_url: str | None = None


class DuplicateKey(ValueError):
    """An object names a key twice: JSON readers disagree on which value counts (RFC 8259
    section 4), so the document is refused rather than read one way here and another elsewhere."""

    def __init__(self, path: str):
        super().__init__(f"the key {path!r} appears twice in one object")
        self.path = path


class _Duplicated(dict):
    """An object whose key ``duplicate`` was written twice; refused with its path once the
    document is walked (the hook sees an object before knowing where it sits)."""

    duplicate = ""


def _object(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    marked = _Duplicated(obj)
    marked.duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
    return marked


def _loads(text: str):
    def no_constants(name: str):
        raise ValueError(f"{name} is not a JSON number")

    value = json.loads(text, parse_constant=no_constants, object_pairs_hook=_object)
    stack = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            raise RecursionError
        if isinstance(node, _Duplicated):
            raise DuplicateKey(f"{path}.{node.duplicate}" if path else node.duplicate)
        if isinstance(node, dict):
            stack.extend((child, depth + 1, f"{path}.{key}" if path else key) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(node))
    return value


def _decode(raw: bytes, file_name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise FileRefused(file_name, f"FHIR JSON must be UTF-8; byte {exc.start + 1} is not", row=line,
                          column=f"byte {exc.start + 1}") from None


def fhir_xml_root(text: str) -> tuple[str, int] | None:
    """The root element's name and line when the text is XML whose root is in FHIR's namespace
    (``<Bundle xmlns="http://hl7.org/fhir">``, or a prefix bound to it), else None."""
    prolog = _XML_PROLOG.match(text)
    start = prolog.end() if prolog else 0
    root = _XML_ROOT.match(text, start)
    if root is None:
        return None
    prefix, name, attributes = root.groups()
    declared = "xmlns:" + prefix if prefix else "xmlns"
    namespace = re.search(rf"(?:^|\s){re.escape(declared)}\s*=\s*([\"'])(.*?)\1", attributes, re.S)
    if namespace is None or namespace.group(2).strip() != FHIR_NAMESPACE:
        return None
    return name, text.count("\n", 0, root.start()) + 1


def refuse_fhir_xml(text: str, file_name: str) -> None:
    found = fhir_xml_root(text)
    if found is not None:
        name, line = found
        raise FileRefused(file_name, FHIR_XML_REFUSAL, row=line, column="root element",
                          value=escaped(f"<{name} xmlns=\"{FHIR_NAMESPACE}\">"))


def _json_error(file_name: str, exc: Exception, line_offset: int = 0) -> FileRefused:
    if isinstance(exc, json.JSONDecodeError):
        line = exc.lineno + line_offset
        return FileRefused(file_name, f"not valid JSON: {exc.msg} (line {line}, column {exc.colno})",
                           row=line, column=f"column {exc.colno}")
    if isinstance(exc, DuplicateKey):
        return FileRefused(file_name, f"not valid FHIR JSON: {exc}", row=1 + line_offset, column=escaped(exc.path))
    if isinstance(exc, RecursionError):
        return FileRefused(file_name, f"not readable JSON: nested more than {MAX_DEPTH} levels deep",
                           row=1 + line_offset, column="column 1")
    return FileRefused(file_name, f"not valid JSON: {exc}", row=1 + line_offset, column="column 1")


def _documents(text: str, file_name: str) -> tuple[list[tuple[object, int | None]], list[RefusedRow]]:
    """One JSON document, or NDJSON (when the whole is not JSON but its first line is an
    object): one value per line, a broken line refused with its number."""
    try:
        return [(_loads(text), None)], []
    except (ValueError, RecursionError) as whole:
        lines = text.split("\n")
        first = next((n for n, line in enumerate(lines) if line.strip()), None)
        try:
            head = _loads(lines[first]) if first is not None and len(lines) > 1 else None
        except (ValueError, RecursionError):
            head = None
        if not isinstance(head, dict):
            raise _json_error(file_name, whole) from None
    documents, refused = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            documents.append((_loads(line), number))
        except (ValueError, RecursionError) as exc:
            where = _json_error(file_name, exc, line_offset=number - 1).refused
            refused.append(RefusedRow(row=number, column=where.column, value=_shown(line.strip()),
                                      reason=where.reason))
    return documents, refused


def _where(body: dict, fallback: str) -> str:
    """``Observation/abc``; without a usable id (none, blank, surrounded by spaces, holding a
    character no one can see: ``dashboard.patient_ref``'s rule), its place: ``Observation (line 3)``."""
    kind, ident = body.get("resourceType"), body.get("id")
    if isinstance(ident, str) and ident == ident.strip() and _usable_id(ident):
        return f"{kind}/{ident}"
    return f"{kind} ({fallback})"


def _usable_id(ident: str) -> bool:
    return _ref_problem(ident) is None


def _unstorable_text(value: object) -> tuple[str, str, str] | None:
    """The first text (key or value) in a resource that cannot be stored (``text_rules``): its
    path, the text as a refusal may quote it, and what it holds."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            problem = unstorable(node)
            if problem:
                return path, _shown(node), problem
        elif isinstance(node, dict):
            for key, child in reversed(node.items()):
                here = f"{path}.{escaped(key)}" if path else escaped(key)
                problem = unstorable(key)
                if problem:
                    return here, escaped(key), problem
                stack.append((child, here))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(node))))
    return None


def _flatten(documents, file_name: str, refused: list[RefusedRow], ignored: dict[str, int]) -> list[_Resource]:
    """Every resource of the file in document order; Bundles (also nested ones) opened."""
    out: list[_Resource] = []
    # (value, where it is when it has no id, its fullUrl, the row and column a refusal names)
    stack: list[tuple[object, str, str | None, int | str, str]] = []
    for value, line in reversed(documents):
        if line is None and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
            raise FileRefused(file_name, "not a FHIR resource: the file must be a JSON object with a resourceType",
                              row=1, column="resourceType", value=_shown(value))
        stack.append((value, f"line {line}" if line else "file", None, line or 1, "resourceType"))
    while stack:
        value, fallback, full_url, row, column = stack.pop()
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            refused.append(RefusedRow(row=row, column=column, value=_shown(value),
                                      reason="not a FHIR resource (a JSON object with a resourceType)"))
            continue
        if "id" in value and not isinstance(value["id"], str):
            refused.append(RefusedRow(row=_where(value, fallback), column="id", value=_shown(value["id"]),
                                      reason="a resource id is text"))
            continue
        where = _where(value, fallback)
        if value["resourceType"] != "Bundle":
            bad = _unstorable_text(value)
            if bad:
                path, shown, problem = bad
                refused.append(RefusedRow(row=where, column=path, value=shown,
                                          reason=f"text holds {problem}, which cannot be stored"))
                continue
            out.append(_Resource(value, where, full_url))
            continue
        try:
            entries = _objects(value, "entry", "")
        except _Bad as bad:
            refused.append(RefusedRow(row=where, column=bad.path, value=bad.value, reason=bad.reason))
            continue
        for entry, path in reversed(entries):
            if entry.get("resource") is None:
                ignored["Bundle entry without a resource"] = ignored.get("Bundle entry without a resource", 0) + 1
                continue
            url = entry.get("fullUrl")
            if url is not None and (not isinstance(url, str) or unstorable(url)):
                reason = f"text holds {unstorable(url)}, which cannot be stored" if isinstance(url, str) else \
                    "a fullUrl is text"
                refused.append(RefusedRow(row=where, column=f"{path}.fullUrl", value=_shown(url), reason=reason))
                continue
            stack.append((entry["resource"], f"{where} {path}", url, where, f"{path}.resource"))
    return out


def looks_like_fhir(raw: bytes) -> bool:
    """A JSON object with a resourceType, or NDJSON whose first line is one; or FHIR XML. A broken JSON file
    that names a resourceType early still counts, so its error is reported by this parser."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    if fhir_xml_root(text) is not None:
        return True  # FHIR, as XML: parse_fhir refuses it in words that say what to do
    if not text.lstrip().startswith("{"):
        return False
    try:
        value = _loads(text)
    except (ValueError, RecursionError):
        first = next((line for line in text.split("\n") if line.strip()), "")
        try:
            value = _loads(first)
        except (ValueError, RecursionError):
            return re.search(r'"resourceType"\s*:', text[:4096]) is not None
    return isinstance(value, dict) and isinstance(value.get("resourceType"), str)
