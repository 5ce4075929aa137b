"""``benchmarks/results.md`` is written in sections: ``bench.py`` writes the PLS engine's part,
``production.py`` and ``dashboard.py`` each replace their own ``## …`` section and keep the
others."""

from __future__ import annotations

from pathlib import Path


def replace_section(dest: Path, heading: str, text: str) -> None:
    """Put ``text`` (which starts with the line ``heading``) in place of the section of
    ``dest`` under ``heading`` (to the next ``## `` heading), or append it."""
    old = dest.read_text(encoding="utf-8") if dest.exists() else ""
    marker = "\n" + heading + "\n"
    if marker in "\n" + old:
        head, _, rest = ("\n" + old).partition(marker)
        nxt = rest.find("\n## ")
        tail = rest[nxt:] if nxt >= 0 else ""
        new = (head.strip("\n") + "\n\n" if head.strip() else "") + text.rstrip("\n") + "\n" \
            + tail
    else:
        new = (old.rstrip("\n") + "\n\n" if old.strip() else "") + text
    dest.write_text(new, encoding="utf-8")
