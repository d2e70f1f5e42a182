"""What a compiled model costs and where everything lives: report.json (report_json.py), report.md
and the terminal tables (markdown.py), the memory picture (timeline.py), the budget verdict
(budget.py) and what to change when a model does not fit (advice.py, suggest.py)."""
from .report_json import build

__all__ = ["build"]
