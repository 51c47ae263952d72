"""Every diary field and every threshold is documented, with its unit and range, and the docs
document nothing else (as datasette's documentation tests do for its settings).

The tables are ``dashboard.fields.DIARY_FIELDS`` and ``dashboard.config.THRESHOLDS``; the pages
are docs/fields.md and docs/settings.md, one table row per entry. A field or threshold added,
removed or changed without its row here fails; so does a row for something the tables lack.
Run ``python -m tests.test_documented_tables`` to print the rows the tables give.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.config import THRESHOLDS, Threshold
from dashboard.fields import DIARY_FIELDS, DiaryField

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROW = re.compile(r"^\| `([a-z_0-9]+)` \|")


def field_row(f: DiaryField) -> str:
    numbers = f"{f.low:g}-{f.high:g}" if f.low is not None else ""
    length = f"{f.max_length:,} characters" if f.max_length else ""
    return f"| `{f.name}` | {f.kind} | {numbers} | {f.unit or ''} | {length} | {f.loinc or ''} | {f.meaning} |"


def threshold_row(t: Threshold) -> str:
    return (f"| `{t.key}` | {t.label} | {t.default} | {t.unit} | {t.allowed} | {', '.join(t.changed_by)} "
            f"| {t.source} |")


def documented_rows(page: str) -> dict[str, str]:
    """The page's table rows that document an entry, by the entry's name (a name twice fails)."""
    rows: dict[str, str] = {}
    for line in (DOCS / page).read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{page} documents {match.group(1)} twice"
            rows[match.group(1)] = line.rstrip()
    return rows


@pytest.mark.parametrize(("page", "expected"), [
    ("fields.md", {f.name: field_row(f) for f in DIARY_FIELDS}),
    ("settings.md", {t.key: threshold_row(t) for t in THRESHOLDS}),
])
def test_every_entry_is_documented_as_the_table_says_and_nothing_else(page, expected):
    documented = documented_rows(page)
    assert sorted(set(expected) - set(documented)) == [], f"not documented in docs/{page}"
    assert sorted(set(documented) - set(expected)) == [], f"docs/{page} documents what the table lacks"
    wrong = {name: (documented[name], row) for name, row in expected.items() if documented[name] != row}
    assert wrong == {}, f"docs/{page} rows differ from the table (documented, table)"
    assert list(documented) == list(expected), f"docs/{page} lists them in another order than the table"


if __name__ == "__main__":
    print("\n".join(field_row(f) for f in DIARY_FIELDS), "\n")
    print("\n".join(threshold_row(t) for t in THRESHOLDS))
