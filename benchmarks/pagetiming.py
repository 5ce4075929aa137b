"""When a Streamlit page's table is drawn, measured inside the browser page.

Playwright's own waiting (``locator.wait_for``) polls the page over the DevTools protocol; while
the page's main thread is busy drawing, its answer comes 0.1–0.5 s after the table is on the
screen (measured on 2 cores), so a time taken around it overstates the page. Here a script
installed before any page script (:data:`INIT_SCRIPT`, via ``BrowserContext.add_init_script``)
checks on every animation frame whether the table is displayed — the data frame is in the main
area with its canvas, has a size, and it and its ancestors are visible and opaque — and notes
``performance.now()`` of the first such frame. Times are milliseconds from the navigation start
of the document (a page load) or from the click that started an in-app page change.

Used by ``benchmarks/dashboard.py`` and by the browser test (``tests/test_browser.py``).
"""

from __future__ import annotations

#: the page's ranking table (the main area's data frame)
TABLE = '[data-testid="stMain"] [data-testid="stDataFrame"]'

INIT_SCRIPT = """
(() => {
  const SEL = '%s';
  const shown = (e) => {
    const r = e.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0) || !e.querySelector('canvas')) return false;
    for (let x = e; x && x.nodeType === 1; x = x.parentElement) {
      const cs = getComputedStyle(x);
      if (cs.display === 'none' || cs.visibility === 'hidden' || parseFloat(cs.opacity) < 0.9)
        return false;
    }
    return true;
  };
  // start watching: the first animation frame in which the table is displayed
  window.__tableWatch = (start) => {
    window.__tableStart = start;
    window.__tableShown = null;
    const poll = () => {
      const e = document.querySelector(SEL);
      if (e && shown(e)) { window.__tableShown = performance.now(); return; }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  };
  window.__tableWatch(0);  // a page load: from the navigation start
})();
""" % TABLE.replace("'", "\\'")

#: in-app navigation: click the sidebar link named ``text`` from inside the page, watching
#: for the table from that moment (the old table must already be gone)
CLICK_NAV = """(text) => {
  const links = Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a'));
  // a link's text is its icon's name (a font ligature) and its title, on separate lines
  const link = links.find(a => a.innerText.split('\\n').map(s => s.trim()).includes(text));
  if (!link) throw new Error('no sidebar link ' + text);
  window.__tableWatch(performance.now());
  link.click();
}"""


def table_shown_ms(page, timeout_ms: float = 60_000) -> float:
    """Wait until the watched table is displayed; milliseconds from the watch's start (the
    navigation start of a page load, or the in-app click)."""
    page.wait_for_function("window.__tableShown !== null && window.__tableShown !== undefined",
                           timeout=timeout_ms)
    return float(page.evaluate("window.__tableShown - window.__tableStart"))
