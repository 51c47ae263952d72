"""What a patient reference is: one rule that every importer, the command line and the pages
ask, so that no entry point lets in a reference another would refuse (issue 24, item 7).

A reference is compared as NFKC normalises it (Unicode Standard Annex #15), without the
whitespace around it: the full-width ``ＤＥＭＯ-001`` *is* ``DEMO-001``, as it displays, and
``" DEMO-001 "`` too. It is refused when it is empty, longer than the store's column, or holds a
character no one can see or type on purpose:

- control characters (category Cc: a line break, a tab, NUL) and lone surrogates (Cs);
- format characters (Cf: zero-width spaces and joiners, bidirectional overrides such as
  U+202E, which make a reference display as another), and the other default-ignorable code
  points of Unicode's DerivedCoreProperties.txt (Hangul fillers, variation selectors, ...);
- private-use (Co) and unassigned (Cn) code points, whose display nobody can predict;
- line and paragraph separators (Zl, Zp), and spaces other than the plain space (Zs), of
  which NFKC leaves only a few (U+1680 OGHAM SPACE MARK);
- U+2800 BRAILLE PATTERN BLANK, which displays as a space;
- a combining mark first (Mn, Mc, Me), which would join whatever is displayed before it.

An import names a refused reference with its file, row, column and value; a look-up (the
review page's address, ``summary --patient``, ``user share``) with a refused reference simply
finds no patient.
"""

from __future__ import annotations

import unicodedata

from dashboard.text_rules import escaped

MAX_LENGTH = 100  # patient.ref is VARCHAR(100)

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) beyond category Cf, and the
# braille blank: characters that display as nothing or as a space.
_INVISIBLE_RANGES = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)
_WHAT = {
    "Cc": "a control character", "Cs": "a lone surrogate", "Cf": "an invisible formatting character",
    "Co": "a private-use character", "Cn": "an unassigned character", "Zl": "a line separator",
    "Zp": "a paragraph separator", "Zs": "a space other than the plain space",
}


class RefusedRef(ValueError):
    """Why a text is not a patient reference (the message is the reason)."""


def _invisible(code: int) -> bool:
    return any(low <= code <= high for low, high in _INVISIBLE_RANGES)


def _refused_character(text: str) -> str | None:
    for i, char in enumerate(text):
        category = unicodedata.category(char)
        what = _WHAT.get(category) if char != " " else None
        if what is None and _invisible(ord(char)):
            what = "an invisible character"
        if what is None and i == 0 and category in ("Mn", "Mc", "Me"):
            what = "a combining mark first"
        if what is not None:
            return f"a patient reference cannot hold {what} (U+{ord(char):04X} at character {i + 1})"
    return None


def normalise(text: str) -> str:
    """``text`` as the reference it is (NFKC, no surrounding whitespace), or RefusedRef saying why not."""
    text = unicodedata.normalize("NFKC", text).strip()  # a lone surrogate passes NFKC as it is
    problem = _refused_character(text)
    if problem is not None:
        raise RefusedRef(problem)
    if not text:
        raise RefusedRef("the patient reference is empty")
    if len(text) > MAX_LENGTH:
        raise RefusedRef(f"a patient reference has at most {MAX_LENGTH} characters")
    return text


def problem(text: str) -> str | None:
    """Why ``text`` is not a patient reference, or None."""
    try:
        normalise(text)
    except RefusedRef as exc:
        return str(exc)
    return None


def lookup(text: str | None) -> str | None:
    """The reference to look for, or None when ``text`` cannot be one (no patient is found)."""
    if text is None:
        return None
    try:
        return normalise(text)
    except RefusedRef:
        return None


def quoted(text: str) -> str:
    """A refused reference as a refusal quotes it: storable, at most 200 characters."""
    text = escaped(text)
    return text if len(text) <= 200 else text[:200] + "…"
