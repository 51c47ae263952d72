"""Text the store can hold: every importer asks here before a text from a file reaches a record.

Two kinds of text decode without error yet cannot be stored (issue 24, item 3):

- a lone surrogate (``"\\ud800"`` in JSON): half of a UTF-16 pair, no character at all; UTF-8
  cannot encode it, so writing it fails on every database;
- a NUL character (``"\\u0000"``): PostgreSQL's text types cannot hold it (SQLite would, and the
  two databases must not read one file differently).

The CSV readers never meet either: a surrogate does not decode from UTF-8, Windows-1252 or
UTF-16, and a NUL byte refuses the file as binary (``csv_text.decode``). JSON escapes can write
both, so the FHIR reader refuses a resource holding one, naming its path.
"""

from __future__ import annotations


def _bad(char: str) -> bool:
    return char == "\x00" or "\ud800" <= char <= "\udfff"


def unstorable(text: str) -> str | None:
    """What in ``text`` cannot be stored ("a lone surrogate", "a NUL character"), or None."""
    for char in text:
        if char == "\x00":
            return "a NUL character"
        if "\ud800" <= char <= "\udfff":
            return "a lone surrogate"
    return None


def escaped(text: str) -> str:
    """``text`` with each unstorable character written as its JSON escape (``\\u0000``), so that a
    refusal can quote the value (and the store can hold the refusal)."""
    if not any(_bad(char) for char in text):
        return text
    return "".join(f"\\u{ord(char):04x}" if _bad(char) else char for char in text)
