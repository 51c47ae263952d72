"""What a file holds, column by column and field by field: the values staff map, and the words
that need a number before they can be imported."""

from __future__ import annotations

from collections import Counter

from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import Table, cell, normalise_header, parse_number
from dashboard.ingest.diary_csv import SEVERITY_WORDS, TEXTS
from dashboard.ingest.profiles.spec import item_key


def column_values(table: Table) -> dict[str, list[str]]:
    """Each column's distinct non-blank values (first spelling, most frequent first): what staff map."""
    out = {}
    for i, name in enumerate(table.header):
        counts: Counter[str] = Counter()
        spelled: dict[str, str] = {}
        for _, cells in table.rows:
            text = cell(cells, i).strip()
            if text:
                spelled.setdefault(item_key(text), text)
                counts[item_key(text)] += 1
        out[name] = [spelled[key] for key, _ in counts.most_common()]
    return out


def values_by_item(table: Table, item_column: str, value_column: str) -> dict[str, list[str]]:
    """A long file's values per item (keyed ignoring case and spaces): the words an item's field needs numbers for."""
    index = {normalise_header(name): i for i, name in enumerate(table.header)}
    item_at, value_at = index.get(normalise_header(item_column)), index.get(normalise_header(value_column))
    out: dict[str, list[str]] = {}
    for _, cells in table.rows:
        text = cell(cells, value_at).strip()
        if text:
            out.setdefault(item_key(cell(cells, item_at)), []).append(text)
    return out


def field_values(table: Table, p: dict) -> dict[str, list[str]]:
    """The cells each mapped diary field would read, from its columns or its items, but for the
    profile's "not recorded" words and the columns a rule reads."""
    out: dict[str, list[str]] = {}
    kept = {item_key(w) for w in p.get("not_recorded") or ()}
    if p.get("layout") == "long" and normalise_header(p.get("value_column") or "") in {
            normalise_header(c) for c in p.get("rules") or {}}:
        return out
    if p.get("layout") == "long":
        per_item = values_by_item(table, p.get("item_column") or "", p.get("value_column") or "")
        for item, name in (p.get("items") or {}).items():
            if name:
                out.setdefault(name, []).extend(v for v in per_item.get(item_key(item), []) if item_key(v) not in kept)
        return out
    index = {normalise_header(name): i for i, name in enumerate(table.header)}
    ruled = {normalise_header(c) for c in p.get("rules") or {}}  # read by a pattern, not word by word
    for column, name in (p.get("columns") or {}).items():
        if name and normalise_header(column) in index and normalise_header(column) not in ruled:
            out.setdefault(name, []).extend(cell(c, index[normalise_header(column)]).strip() for _, c in table.rows)
    return {name: [v for v in seen if v and item_key(v) not in kept] for name, seen in out.items()}


def words_needing_numbers(name: str, seen: list[str]) -> list[str]:
    """The cells of a numbered field that are words: each needs a number in ``value_maps``."""
    if name in TEXTS:
        return []
    severity = set(SEVERITY_WORDS) if name in SIDE_EFFECTS else set()
    words = {item_key(v): v.strip() for v in reversed(seen) if not numeric([v]) and item_key(v) not in severity}
    return [words[k] for k in dict.fromkeys(item_key(v) for v in seen) if k in words]


def numeric(values: list[str]) -> bool:
    """Numbers, a decimal comma included: a word is what needs a value map, not a decimal."""
    try:
        for text in values:
            parse_number(text, decimal_comma=True)
    except ValueError:
        return False
    return bool(values)
