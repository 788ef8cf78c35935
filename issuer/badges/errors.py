"""The one error the badge code raises for images it cannot or will not read."""

from __future__ import annotations


class BakingError(ValueError):
    """An image that holds no readable credential, or one we refuse to read or bake.

    The message names the defect in plain words ("the PNG is truncated …",
    "the SVG contains a script …") because the web layer shows it to the person
    who uploaded the file. It subclasses ``ValueError`` so code that only knows
    "bad input" still catches it.
    """
