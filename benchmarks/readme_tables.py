"""The README's generated tables: each lives between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
and is rewritten only by the benchmark script that measures it (``--readme``), never by hand."""
from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def markdown(head: list[str], rows: list[list], right: int = 0) -> str:
    """A Markdown table; the last ``right`` columns are right-aligned (numbers)."""
    align = ["---"] * (len(head) - right) + ["---:"] * right
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def write(name: str, text: str, readme: Path = README) -> None:
    """Replace the section ``name`` of the README with ``text``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    body = readme.read_text()
    if begin not in body or end not in body:
        sys.exit(f"README.md has no {begin} ... {end} section")
    pattern = re.escape(begin) + ".*?" + re.escape(end)
    readme.write_text(re.sub(pattern, lambda _: f"{begin}\n{text}\n{end}", body, flags=re.S))
