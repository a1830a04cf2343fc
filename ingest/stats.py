"""What an ingest worker counts: its log lines print it, its metrics read it at scrape time."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from iotgw.registry.tag_cache import Freshness


@dataclass
class Stats:
    received: int = 0
    written_points: int = 0
    dead_lettered: int = 0
    acked: int = 0
    decoder_errors: int = 0  # messages the decoder raised on (a bug), dead-lettered
    outcomes: Counter[str] = field(default_factory=Counter)  # per-reading policy outcomes
    dead_lettered_by_kind: Counter[str] = field(default_factory=Counter)
    dead_lettered_by_gateway: Counter[str] = field(default_factory=Counter)  # who floods
    dead_letters_dropped: Counter[str] = field(default_factory=Counter)  # by when_full policy
    dead_letter_store: tuple[int, int] = (0, 0)  # letters and payload bytes kept, last seen
    batches: int = 0
    batch_seconds: float = 0.0  # time from a batch's first message to its acknowledgement
    lag_s: float = 0.0  # at the last flush: now minus the newest reading's device time
    # With a registry: how stale the tags are and how many reads failed, kept by the tag
    # cache itself (live, so a scrape sees the staleness grow between reads).
    registry: Freshness | None = None
