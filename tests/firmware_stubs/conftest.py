"""The firmware runs on the host under CPython: its files are importable from here."""

from __future__ import annotations

import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_stubs"
sys.path.insert(0, str(FIRMWARE))
