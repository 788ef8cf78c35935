"""CSV cells that spreadsheets open as text, never as formulas (OWASP "CSV injection").

Every CSV the service writes (the audit log export, the continuing-education reports) passes each cell through
``safe_cell``.
"""

from __future__ import annotations

#: Spreadsheets read a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell's text, with a leading ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
