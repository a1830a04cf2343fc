"""Errors of the ingest service."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error raised by ``ingest``."""


class DeadLetterUnavailable(IngestError):
    """The dead-letter store cannot be opened or written (disk full, unwritable path).

    Ingest stops rather than acknowledge a message it could neither store nor keep.
    """
