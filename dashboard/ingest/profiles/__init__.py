r"""Mapping profiles: another diary app's CSV layout read as diary entries (import-formats.md section 4).

Staff map a layout once on the import page and save the mapping under a name; the next file
from the same app is read the same way, from the page or with
``python -m dashboard import FILE --profile NAME``. Profiles live in ``mapping_profile``.
A profile is a JSON-able dict, checked by :func:`validate_profile` before it is saved:

``layout`` (required)
    ``"wide"``: one row per entry, and ``columns`` maps file columns to diary fields.
    ``"long"``: one row per item, as in ``name, intensity, date`` files: ``item_column`` holds
    the item's name, ``value_column`` its value, and ``items`` maps item names to diary fields.
``columns`` / ``items``
    ``{file column or item name: diary field or null}``. null means "ignored on purpose".
    Ignored columns and items are reported with the number of rows that had them, never
    silently dropped. Columns match like native headers (case, spaces and hyphens don't
    matter); item names match ignoring case and surrounding spaces.
``header_row`` (default 1)
    The row holding the real header. Rows above it are skipped, and refusals still count
    the file's own rows, so row 5 is the fifth row in a spreadsheet. MonsterMizer's
    ``pain.csv`` has a note on row 1 and its header on row 2.
The date of each row, one of:
    ``date_column`` + ``date_format``: a ``strptime`` pattern that staff choose, such as
    ``%Y-%m-%d %H:%M:%S``. Because the pattern is explicit, nothing is guessed: a cell that does
    not match it is refused.
    ``date_parts``: ``{"year": column, "month": column, "day": column}``, with ``fill_down``
    (default false) set to true when a blank part means "same as the row above", as hand-kept
    spreadsheets write it.
``time_column`` + ``time_format`` (optional)
    The time of day from a column of its own. Daylio writes "10:00 pm", read with ``%I:%M %p``.
    A blank time gives an entry without a time.
``fallback_date_column`` + ``fallback_date_format`` (optional)
    Used on rows whose primary date is blank or not a date. MonsterMizer writes
    ``startday=0, startmonth=""`` when the day was not chosen, and its ``date`` (the time the
    entry was written) dates those rows.
``one_entry_per_day`` (default false)
    All of a day's rows make one entry at that date, and the time is dropped. This suits apps
    that log each item separately, a few seconds apart.
``value_maps``
    ``{field: {label: number}}``: words read as numbers on the diary's own scale, matched
    ignoring case and surrounding spaces. Example: Daylio's default moods (:data:`DAYLIO_MOODS`)
    read as rad 10, good 7.5, meh 5, bad (formerly "fugly") 2.5, awful 0. Daylio users rename
    their moods, so staff map the labels that the file holds.
``scale``
    ``{field: {"from": [lo, hi], "to": [lo, hi]}}``: a linear rescaling of the app's own number
    scale. An app's 1-5 becomes the diary's 0-10 with ``from [1, 5], to [0, 10]``, and
    ``from [5, 1]`` reverses it. The rescaling applies to numbers read from the file, not to
    ``value_maps`` numbers, and a value outside ``from`` is refused. Side effects must come out
    as whole grades 0-3, so MonsterMizer's 0/1/2 observation flags are best mapped as written
    (0 none, 1 mild, 2 moderate). Stretching them to 0-3 would invent a grade of 1.5.
``aggregate`` (default ``"max"``)
    Decides what happens when several rows or columns give the same field for one entry, that
    is the same patient at the same time. One example is pain.csv's several body regions a day.
    ``"max"`` keeps the worst value and ``"mean"`` the mean, rounded to 3 decimals. Side-effect
    grades always keep the worst. ``dose_mg`` always adds up, because the native diary records
    the sum of doses taken with an entry. Texts are joined with "; ".
``patient_column`` (optional)
    The column holding the clinic's patient reference. Without one, the patient is named at
    import.
Version 2 (import-formats.md, "Version 3"; every key optional, so a saved version-1 profile reads
as before):

``version``
    1 or 2; a checked profile says 2.
``header`` (default true)
    false for a file without a header row (Daylio can write one): every row is data, row 1
    included, and the columns are named by position, ``"column 1"``, ``"column 2"``, ...
``rules``
    ``{column: {"pattern": regex}}``: the regex's one named group is a number, and the numbers
    of every match in the cell are summed, so a list cell sums its items
    (``(?P<mg>\d+(?:\.\d+)?)\s*mg`` reads ``[25 mg, 25 mg]`` as 50). ``{column: {"label": regex}}``
    takes the first match only: one rating out of a packed cell
    (``Sleep Quality:\s*(?P<v>\d+)\s*/\s*10`` in ``Sleep Quality: 8/10 points | Sleep Time: 8:00``),
    its scale converted by ``scale`` like any number. Both match ignoring case. A cell the rule
    finds nothing in leaves the field empty, and the report counts such cells per column.
    Python's regular expressions have no time limit, so a rule that repeats a group holding a
    repeating quantifier or alternatives (``(a+)+``, ``(\d+,?)*``) is refused, and a cell longer
    than :data:`.regex_guard.RULE_CELL_MAX` characters is refused rather than read by a rule.
``not_recorded`` (default :data:`NOT_RECORDED`)
    Words that mean "not recorded" (``null``, ``[]``, ``-``, ``n/a``, ...), matched ignoring case
    and surrounding spaces: the field is left empty instead of refused as "not a number". A word
    that ``value_maps`` gives a number is refused here.
``date_format`` ``"unix_s"`` or ``"unix_ms"``
    Seconds or milliseconds since 1970-01-01 00:00 UTC (a blood-pressure app's ``timestampUnixMs``).
    Date patterns may hold two-digit years (``%y``: 69-99 are 1969-1999, 00-68 are 2000-2068).
``time_parts``
    ``{"hour": column, "minute": column}``: the time of day from an hour and a minute column
    (iMoodJournal), joined to the date, so that a day's entries stay apart.
``timezone``
    The patient's IANA time zone (``Europe/Berlin``) for times written without an offset: the
    entry keeps its written time with the zone's offset at that time. A time the clock skipped
    (02:30 on the night summer time starts) takes the offset before the change, and a time the
    clock passed twice (02:30 on the night it ends) is the first, summer-time one. Unix times are
    shown in this zone; without one they are UTC. An offset written in the cell (``+0000``) wins.

``name``
    The profile's name, set by :func:`load_profile`. It has at most :data:`NAME_MAX` characters
    because imports record ``profile:<name>`` as their format.

Values keep the native format's rules (:mod:`dashboard.ingest.diary_csv`):

- ranges and severity words are the same;
- an empty cell means "not recorded";
- an entry needs a measure;
- a date outside :data:`dashboard.fields.DIARY` (1900-01-01 to tomorrow) is refused.

Rows that make one entry are imported whole or not at all.

The package, in the order a file meets it:

- :mod:`.spec`: the keys, the diary fields, and the errors;
- :mod:`.patterns`: the date and time patterns staff choose;
- :mod:`.validate`: :func:`validate_profile`, run before a profile is saved or used;
- :mod:`.regex_guard`: refusing a rule's regular expression that could backtrack catastrophically;
- :mod:`.store`: profiles saved by name;
- :mod:`.rows` and :mod:`.reader`: :func:`parse_with_profile`, row by row, then entry by entry;
- :mod:`.survey` and :mod:`.suggest`: helping staff map a file (:func:`suggest_mapping`: a profile that
  saves as it is, with its open questions), and :func:`explain_unmappable`;
- :mod:`.preview`: :func:`preview_mapping`, the first entries as they would be stored, for the page.
"""

from dashboard.ingest.profiles.patterns import DAY_MONTH_PATTERNS, ISO_PATTERNS, TIME_PATTERNS, example, has_time
from dashboard.ingest.profiles.preview import (
    PREVIEW_ROWS,
    MappingPreview,
    preview_mapping,
    stored_rows,
    words_to_number,
)
from dashboard.ingest.profiles.reader import parse_with_profile, read_profile_table
from dashboard.ingest.profiles.spec import (
    AGGREGATES,
    DATE_PARTS,
    DAYLIO_MOODS,
    FIELDS,
    KEYS,
    LAYOUTS,
    NAME_MAX,
    NO_DATE,
    NOT_RECORDED,
    TIME_PARTS,
    UNIX_LAYOUTS,
    ProfileError,
    ProfileExists,
    role_columns,
)
from dashboard.ingest.profiles.store import list_profiles, load_profile, save_profile
from dashboard.ingest.profiles.suggest import (
    Suggestion,
    date_readings,
    explain_unmappable,
    guess_field,
    guess_header_row,
    has_header,
    suggest_mapping,
    suggest_profile,
)
from dashboard.ingest.profiles.survey import column_values, field_values, values_by_item, words_needing_numbers
from dashboard.ingest.profiles.validate import check_name, same_profile, validate_profile

__all__ = [
    "AGGREGATES",
    "DATE_PARTS",
    "DAY_MONTH_PATTERNS",
    "DAYLIO_MOODS",
    "FIELDS",
    "ISO_PATTERNS",
    "KEYS",
    "LAYOUTS",
    "NAME_MAX",
    "NO_DATE",
    "NOT_RECORDED",
    "TIME_PARTS",
    "UNIX_LAYOUTS",
    "TIME_PATTERNS",
    "PREVIEW_ROWS",
    "MappingPreview",
    "ProfileError",
    "Suggestion",
    "ProfileExists",
    "check_name",
    "column_values",
    "date_readings",
    "example",
    "explain_unmappable",
    "field_values",
    "guess_field",
    "guess_header_row",
    "has_header",
    "has_time",
    "list_profiles",
    "load_profile",
    "parse_with_profile",
    "preview_mapping",
    "read_profile_table",
    "role_columns",
    "same_profile",
    "save_profile",
    "stored_rows",
    "suggest_mapping",
    "suggest_profile",
    "validate_profile",
    "values_by_item",
    "words_needing_numbers",
    "words_to_number",
]
