"""The ingest loop: decode, batch across messages, write, then acknowledge.

Order of a flush, which is what makes "nothing lost" hold:

1. dead letters of the batch are committed to the dead-letter store;
2. the batch's lines are written to InfluxDB (retried while it is unavailable; meanwhile
   nothing is acknowledged, and the broker stops sending once ``receive_maximum`` messages
   are unacknowledged, which bounds memory);
3. only then are the batch's messages acknowledged.

A crash between any two steps means redelivery, and redelivery is harmless: points
overwrite themselves, and a dead letter may be recorded twice. If InfluxDB rejects a batch
(4xx: bad data, e.g. a field type conflict), each message is written alone and those still
rejected are dead-lettered, so one bad message never blocks the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.config import IngestConfig
from ingest.consumer import Consumer, Delivery
from ingest.dead_letters import DeadLetterStore, gateway_label
from ingest.decode import decode_message
from ingest.metrics import serve_metrics
from ingest.points import Context, Decoded, Rejected
from ingest.stats import Stats
from registry import RegistryError, TagCache, make_engine, session_factory
from registry.placements import record_seen
from tsdb import Backoff, Point, Unavailable, WriteRejected, encode_point
from tsdb.schema import HOUR_MS, TOUCHED_HOURS, create_storage

log = logging.getLogger(__name__)

_STATS_EVERY_S = 10.0

Decoder = Callable[[str, bytes, Context], Decoded]
DECODER_ERROR = "decoder_error"  # the dead-letter kind of a message the decoder raised on


@dataclass
class _Message:
    delivery: Delivery
    lines: list[str]
    newest_ms: int | None
    hours: set[int]


@dataclass
class _Batch:
    messages: list[_Message] = field(default_factory=list)
    dead: list[tuple[str, Rejected]] = field(default_factory=list)  # (topic, rejected)
    seen: dict[str, int] = field(default_factory=dict)  # gateway -> newest online status, ms
    lines: int = 0
    started: float = 0.0

    def add(self, delivery: Delivery, ctx: Context, decode: Decoder) -> Counter[str]:
        """Decode into the batch; returns the readings' outcome counts."""
        if not self.messages:
            self.started = time.monotonic()
        decoded = decode(delivery.topic, delivery.payload, ctx)
        self.messages.append(_Message(delivery, decoded.lines, decoded.newest_ms, decoded.hours))
        self.lines += len(decoded.lines)
        self.dead.extend((delivery.topic, r) for r in decoded.rejected)
        for gateway, ts in decoded.seen.items():
            self.seen[gateway] = max(self.seen.get(gateway, 0), ts)
        return decoded.counts


class IngestService:
    def __init__(self, cfg: IngestConfig, *, decode: Decoder = decode_message) -> None:
        """``decode`` is ``decode_message`` but in tests, which give one that raises."""
        self.cfg = cfg
        self._decoder = decode
        self.influx = cfg.influx.client(Backoff(initial_s=0.2, max_s=5.0, max_attempts=4))
        self.dead_letters = DeadLetterStore(cfg.dead_letter_path, cfg.dead_letters)
        self.consumer = Consumer(cfg.mqtt)
        self.tags = None
        self.registry = None
        if cfg.registry is not None:
            self.registry = session_factory(make_engine(cfg.registry.url))
            self.tags = TagCache(self.registry, check_every_s=cfg.registry.refresh_s)
        self.stats = Stats(dead_letter_store=self.dead_letters.totals())
        self._writer_error: BaseException | None = None

    def run(self, stop: threading.Event) -> None:
        """Serve until ``stop`` is set; what is not yet written is left unacknowledged.

        The subscription comes first, even while InfluxDB is down: from then on the broker
        keeps this worker's share of the stream, and nothing is acknowledged before it is
        written anyway.
        """
        if self.cfg.metrics.port is not None:
            serve_metrics(self.stats, lambda: self.influx.retries, host=self.cfg.metrics.host,
                          port=self.cfg.metrics.port)
        self.consumer.start()
        batch = _Batch()
        last_stats = time.monotonic()
        # Decoding the next batch overlaps with writing this one. One writer, batches in
        # arrival order: a device's points are never reordered. At most one batch waits
        # for the writer, so memory stays bounded by a few batches (and by the window).
        due: queue.Queue[_Batch] = queue.Queue(maxsize=1)
        writer = threading.Thread(target=self._write_batches, args=(due, stop),
                                  name="ingest-writer")
        try:
            if not self._prepare_database(stop):
                return
            writer.start()
            while not stop.is_set():
                self._collect(batch)
                if batch.messages and self._batch_due(batch):
                    while not stop.is_set():
                        try:
                            due.put(batch, timeout=0.1)
                            batch = _Batch()
                            break
                        except queue.Full:
                            continue
                if time.monotonic() - last_stats >= _STATS_EVERY_S:
                    log.info("ingest stats: %s", self.stats)
                    last_stats = time.monotonic()
        finally:
            stop.set()
            if writer.is_alive():
                writer.join()
            log.info("ingest final stats: %s", self.stats)
            self.consumer.stop()
            self.dead_letters.close()
            self.influx.close()
        if self._writer_error is not None:
            raise self._writer_error

    def _write_batches(self, due: queue.Queue[_Batch], stop: threading.Event) -> None:
        """The writer thread: flush batches in order until stopped; an error stops all."""
        try:
            while not stop.is_set():
                try:
                    batch = due.get(timeout=0.1)
                except queue.Empty:
                    continue
                if not self._flush(batch, stop):
                    return
        except BaseException as exc:  # handed to run(), which raises it in the main thread
            self._writer_error = exc
            stop.set()

    def _prepare_database(self, stop: threading.Event) -> bool:
        influx = self.cfg.influx
        while not stop.is_set():
            try:
                create_storage(self.influx, influx.database, raw_retention=influx.raw_retention)
                return True
            except Unavailable as exc:
                log.warning("waiting for InfluxDB: %s", exc)
        return False

    def _batch_due(self, batch: _Batch) -> bool:
        return (batch.lines >= self.cfg.batch.max_lines
                or time.monotonic() - batch.started >= self.cfg.batch.max_wait_s)

    def _collect(self, batch: _Batch) -> None:
        """Take deliveries until the batch is full or its time is up."""
        wait_s = self.cfg.batch.max_wait_s
        if batch.messages:
            wait_s = max(0.0, batch.started + wait_s - time.monotonic())
        try:
            delivery = self.consumer.deliveries.get(timeout=wait_s)
        except queue.Empty:
            return
        while True:
            ctx = Context(now_ms=int(time.time() * 1000), policy=self.cfg.policy,
                          lookup=self.tags.history if self.tags else None)
            self.stats.outcomes.update(batch.add(delivery, ctx, self._decode))
            self.stats.received += 1
            if batch.lines >= self.cfg.batch.max_lines:
                return
            try:
                delivery = self.consumer.deliveries.get_nowait()
            except queue.Empty:
                return

    def _decode(self, topic: str, payload: bytes, ctx: Context) -> Decoded:
        """The decoder never raises by design; if it does anyway (a bug), the message is
        dead-lettered as ``decoder_error`` with the exception, counted and logged with its
        traceback, and the worker goes on: one message must not stop the stream, nor
        come back after a restart to stop it again."""
        try:
            return self._decoder(topic, payload, ctx)
        except Exception as exc:  # the worker's outer boundary, see the docstring
            self.stats.decoder_errors += 1
            log.exception("decoder raised on a message from %s; dead-lettered", topic)
            error = "".join(traceback.format_exception_only(exc)).strip()  # never raises itself
            return Decoded(rejected=[Rejected(DECODER_ERROR, f"decoder error: {error}", payload)])

    def _flush(self, batch: _Batch, stop: threading.Event) -> bool:
        """Store the batch, then acknowledge it. False if stopped before it was stored."""
        if batch.dead:
            self._dead_letter(batch.dead)
        try:
            if not self._write(batch.messages, stop):
                return False
        except WriteRejected as exc:
            log.warning("batch rejected (%s); writing its %d messages one by one",
                        exc, len(batch.messages))
            if not self._write_one_by_one(batch.messages, stop):
                return False
        self._mark_seen(batch.seen)
        self.stats.acked += self.consumer.ack(m.delivery for m in batch.messages)
        self.stats.batches += 1
        self.stats.batch_seconds += time.monotonic() - batch.started
        newest_ms = max((m.newest_ms for m in batch.messages if m.newest_ms is not None),
                        default=None)
        if newest_ms is not None:
            self.stats.lag_s = time.time() - newest_ms / 1000
        return True

    def _mark_seen(self, seen: dict[str, int]) -> None:
        """Last-seen in the registry. Secondary to the readings: if the registry cannot be
        written, say so and go on (the gateway_health points are already stored)."""
        if self.registry is None or not seen:
            return
        at = {gw: dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for gw, ms in seen.items()}
        try:
            record_seen(self.registry, at)
        except RegistryError as exc:
            log.warning("%s", exc)

    def _write(self, messages: list[_Message], stop: threading.Event) -> bool:
        """Write the messages' points, and in the same request the hours they touched (for
        the rollup, see ``tsdb.schema``)."""
        body = "\n".join(line for m in messages for line in m.lines)
        if not body:
            return True
        written_at = int(time.time() * 1000)
        hours = set().union(*(m.hours for m in messages))
        body += "".join("\n" + encode_point(Point(TOUCHED_HOURS, {"written_at": written_at}, hour * HOUR_MS))
                        for hour in sorted(hours))
        while True:
            try:
                self.influx.write_lines(self.cfg.influx.database, body)
                self.stats.written_points += sum(len(m.lines) for m in messages)
                return True
            except Unavailable as exc:
                if stop.is_set():
                    return False
                log.warning("InfluxDB unavailable, holding %d messages unacknowledged: %s",
                            len(messages), exc)

    def _write_one_by_one(self, messages: list[_Message], stop: threading.Event) -> bool:
        for message in messages:
            try:
                if not self._write([message], stop):
                    return False
            except WriteRejected as exc:
                d = message.delivery
                reason = f"rejected by InfluxDB: {exc}"
                self._dead_letter([(d.topic, Rejected("influx_rejected", reason, d.payload))])
        return True

    def _dead_letter(self, dead: list[tuple[str, Rejected]]) -> None:
        """Commit dead letters (within the store's limits) and count them: by kind, by
        gateway, and what the store's ``when_full`` policy dropped, which is never silent.
        What was dropped is counted before the letters themselves, so a scrape that sees
        a letter counted sees what its arrival dropped too."""
        store = self.dead_letters
        evicted, discarded = store.evicted, store.discarded
        store.add_many((topic, r.reason, r.payload) for topic, r in dead)
        dropped = (store.evicted - evicted) + (store.discarded - discarded)
        if dropped:
            policy = store.limits.when_full
            self.stats.dead_letters_dropped[policy] += dropped
            log.warning("dead-letter store %s full (%s): %d letters dropped (%s)", store.path,
                        store.limits, dropped, "oldest deleted" if policy == "drop_oldest" else "new ones")
        self.stats.dead_letter_store = store.totals()
        self.stats.dead_lettered += len(dead)
        by_gateway = self.stats.dead_lettered_by_gateway
        for topic, rejected in dead:
            self.stats.dead_lettered_by_kind[rejected.kind] += 1
            by_gateway[gateway_label(topic, by_gateway)] += 1
            log.warning("dead letter from %s: %s", topic, rejected.reason)
