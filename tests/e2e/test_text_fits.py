"""At 1366x768 in Chromium, the words that say why a row matters are read in full: the staff visit
list's status ("overdue: not recorded as held") and the worklist's "Needs attention" reasons.

The grid draws on canvases, so nothing in the DOM has a width to compare: each column's width is
read from the header canvas as drawn (its vertical rules), each row's height from the cell canvas,
and each cell's text (from the grid's accessible table) is laid out in the grid's own font with the
canvas's measureText, word by word as the grid wraps it. Screenshots under tests/e2e/artifacts/."""

from __future__ import annotations

import pytest

from dashboard.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}

# Per cell of one column: its text, the column's drawn width, the row's drawn height and the lines
# the text needs at that width in the grid's font (a line: font size x 1.4; padding: 8.5 px a side).
_MEASURE = """([column, selection]) => {
  const grid = document.querySelector("[data-testid='stDataFrame']");
  const [cells, header] = [...grid.querySelectorAll('canvas')];
  const ctx = header.getContext('2d');
  const y = 2, line = ctx.getImageData(0, y, header.width, 1).data;
  const bg = line.slice(header.width * 4 / 2, header.width * 4 / 2 + 3).join();
  const rules = [0];
  for (let x = 1; x < header.width; x++) {
    if (line.slice(x * 4, x * 4 + 3).join() !== bg && x - rules[rules.length - 1] > 10) rules.push(x);
  }
  const heads = [...grid.querySelectorAll('table tr:first-child th')].map(th => th.textContent);
  const index = heads.indexOf(column);
  const first = index + (selection ? 1 : 0);  // a selectable grid draws a checkbox column first
  const width = rules[first + 1] - rules[first];
  const rows = [...grid.querySelectorAll('table tr')].slice(1);
  const scroller = [...grid.querySelectorAll('div')].find(d => d.className.includes('dvn-scroller'));
  const rowHeight = (scroller.scrollHeight - header.height) / rows.length;
  const hidden = scroller.scrollHeight > scroller.clientHeight + 1;  // rows only seen by scrolling the grid
  const fontSize = 14, measure = document.createElement('canvas').getContext('2d');
  measure.font = `${fontSize}px ${getComputedStyle(grid).fontFamily}`;
  return rows.map(tr => {
    const text = tr.querySelector(`td[aria-colindex='${index + 1}']`).textContent;
    const room = width - 17;
    let lines = 1, current = '';
    for (const word of text.split(' ')) {
      const next = current ? current + ' ' + word : word;
      if (measure.measureText(next).width > room && current) { lines += 1; current = word; } else { current = next; }
    }
    return {text, width, rowHeight, lines, hidden, widest: measure.measureText(text).width};
  });
}"""


def _fits(cell: dict) -> bool:
    """The text on one line within the column, or wrapped into lines the row's height holds; and
    its row drawn without scrolling the grid."""
    if cell["hidden"]:
        return False
    if cell["widest"] <= cell["width"] - 17:
        return True
    return cell["rowHeight"] > 64 and cell["lines"] * 14 * 1.4 + 6 <= cell["rowHeight"]


def test_the_worklists_reasons_are_read_in_full(server, page):
    login(page, server, "dr.rivera", PASSWORDS["dr.rivera"])
    page.get_by_text("with a new safety flag").wait_for(timeout=60_000)
    page.wait_for_timeout(2500)  # the grid draws on a canvas after the page's run
    page.screenshot(path=str(ARTIFACTS / "worklist-reasons-in-full.png"))
    cells = page.evaluate(_MEASURE, ["Needs attention", True])
    assert any(len(c["text"]) > 60 for c in cells)  # the demo has a long reason to read
    assert [c for c in cells if not _fits(c)] == []
    assert page.get_by_role("button", name="Open review").bounding_box()["y"] < 768


def test_the_visit_lists_status_is_read_in_full(server, page):
    login(page, server, "sam.staff", PASSWORDS["sam.staff"])
    page.get_by_role("heading", name="Worklist: the clinic's visits").wait_for(timeout=60_000)
    page.wait_for_timeout(2500)
    page.screenshot(path=str(ARTIFACTS / "visit-list-status-in-full.png"))
    cells = page.evaluate(_MEASURE, ["Status", False])
    assert "overdue: not recorded as held" in [c["text"] for c in cells]
    assert [c for c in cells if not _fits(c)] == []
