"""Regular expressions that staff type for a column's rule (``pattern``, ``label``), applied to
patients' cells: refused when they could backtrack catastrophically.

Python's ``re`` has no time limit. A repeated group that holds a repeating quantifier or
alternatives (``(a+)+``, ``(\\d+,?)*``, ``(a|aa)+``) can try exponentially many ways on a cell that
almost matches, and hang an import; :func:`nested_repeat` finds one, and validation refuses it.
Other patterns cost at most a power of the cell's length, which :data:`RULE_CELL_MAX` bounds
(``.*.*x`` on 1,000 characters takes seconds, on 200 a tenth of one).
"""

from __future__ import annotations

import re

# The longest cell a rule is applied to: a packed rating or a list of doses is far shorter; a longer
# cell is refused with the column and the rule, never truncated.
RULE_CELL_MAX = 500


# Quantifiers that repeat (more than once): *, +, {n,}, {n,m} with m > 1 (and {n} with n > 1).
_QUANTIFIER = re.compile(r"[*+?]|\{(\d*)(,?)(\d*)\}")


def _quantifier_at(regex: str, i: int) -> tuple[int, bool]:
    """The length of the quantifier at ``i`` (with a lazy ``?`` or possessive ``+`` after it) and
    whether it repeats; (0, False) when there is none (``{`` that is not a count is a literal)."""
    m = _QUANTIFIER.match(regex, i)
    if not m or (m.group(0).startswith("{") and not (m.group(1) or m.group(3))):
        return 0, False
    if m.group(0) in "*+?":
        repeats = m.group(0) != "?"
    else:
        low, comma, high = m.group(1), m.group(2), m.group(3)
        repeats = bool(comma and not high) or int(high or low) > 1
    end = m.end() + (1 if m.end() < len(regex) and regex[m.end()] in "?+" else 0)
    return end - i, repeats


def _group_prefix(regex: str, i: int) -> int:
    """The length of ``(``, ``(?:``, ``(?P<name>``, ``(?<=``, ``(?i:`` ... at ``i``: no quantifier in it."""
    if not regex.startswith("?", i + 1):
        return 1
    j = i + 2
    if regex.startswith("P<", j):
        return regex.index(">", j) + 1 - i
    if regex.startswith(("<=", "<!"), j):
        return j + 2 - i
    if regex[j:j + 1] in (":", "=", "!", ">"):
        return j + 1 - i
    while j < len(regex) and regex[j] not in ":)":  # flags: (?i) or (?i:...)
        j += 1
    return j + (regex[j:j + 1] == ":") - i


def nested_repeat(regex: str) -> str | None:
    """The first repeated group that holds a repeating quantifier or alternatives, as written, such
    as ``(a+)+``; None when there is none. Such a group can make Python's regular expressions try
    exponentially many ways on a cell that almost matches (catastrophic backtracking), so a column's
    rule may not have one. Call on a pattern that compiles."""
    stack: list[list] = [[0, False]]  # per open group: where it starts, whether it holds a quantifier or |
    i = 0
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            i += 2
        elif ch == "[":  # a class: its characters are literal ([*+] is no quantifier)
            i += 1 + regex.startswith("^", i + 1)
            i += regex.startswith("]", i)
            while regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
            i += 1
        elif ch == "(":
            if regex.startswith(("(?#", "(?P="), i):  # a comment or a back-reference: no group to repeat
                i = regex.index(")", i) + 1
            else:
                stack.append([i, False])
                i += _group_prefix(regex, i)
            continue
        elif ch == ")":
            start, inner = stack.pop()
            i += 1
            length, repeats = _quantifier_at(regex, i)
            if repeats and inner:
                return regex[start:i + length]
            stack[-1][1] |= inner or repeats
            i += length
            continue
        elif ch == "|":
            stack[-1][1] = True
            i += 1
            continue
        else:
            i += 1
        length, repeats = _quantifier_at(regex, i)  # after an atom (a character, an escape, a class)
        stack[-1][1] |= repeats
        i += length
    return None
