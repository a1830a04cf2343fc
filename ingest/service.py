"""The ingest loop: decode, batch across messages, write, then acknowledge.

Order of a flush, which is what makes "nothing lost" hold:

1. dead letters of the batch are committed to the dead-letter store;
2. the batch's lines are written to InfluxDB, household meters' to the personal database
   first, then the rest (retried while it is unavailable; meanwhile
   nothing is acknowledged, and the broker stops sending once ``receive_maximum`` messages
   are unacknowledged, which bounds memory);
3. only then are the batch's messages acknowledged, and the gateways whose batches asked
   for it (``"ack": true``) told which are stored (``ingest.stored_acks``).

A crash between any two steps means redelivery, and redelivery is harmless: points
overwrite themselves, and a dead letter may be recorded twice. If InfluxDB rejects a batch
(4xx: bad data), or stores only part of it (a "partial write", e.g. a field type conflict),
the lines it does not store are found by writing parts again (``ingest.partial_writes``)
and only their readings are dead-lettered, one reading per letter, with InfluxDB's answer;
what was stored is counted as written. One bad reading never blocks the others.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import queue
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from iotgw.ingest.config import IngestConfig
from iotgw.ingest.consumer import Consumer, Delivery
from iotgw.ingest.dead_letters import DeadLetterStore, gateway_label
from iotgw.ingest.decode import decode_message
from iotgw.ingest.errors import IngestError
from iotgw.ingest.metrics import serve_metrics
from iotgw.ingest.partial_writes import find_dropped
from iotgw.ingest.points import AnyBatch, AnyReading, Context, Decoded, Rejected, one_reading
from iotgw.ingest.stats import Stats
from iotgw.ingest.stored_acks import StoredAcks
from iotgw.ingest.tag_lookup import decode_tagged
from iotgw.registry import RegistryError, TagCache, make_engine, session_factory
from iotgw.registry.placements import record_seen
from iotgw.tsdb import Backoff, Point, Unavailable, WriteRejected, encode_point
from iotgw.tsdb.errors import FieldTypeConflict, PartialWrite
from iotgw.tsdb.schema import HOUR_MS, TOUCHED_HOURS, create_storage, personal_database

log = logging.getLogger(__name__)

_STATS_EVERY_S = 10.0

Decoder = Callable[[str, bytes, Context], Decoded]
DECODER_ERROR = "decoder_error"  # the dead-letter kind of a message the decoder raised on


def tune_gc_for_streaming() -> None:
    """Settings for a worker process, called once it has imported everything: a message makes
    about fifty short-lived containers (batch, lists, counters) in decoding alone, so
    CPython's default collection every 700 allocations ran over a hundred times a
    second, and promoted a batch in flight to the older generations, the oldest of which
    is collected by traversing the whole heap. Measured on the 2-core machine
    (bench/ingest_throughput.py, 50 readings per message): 0.4 µs of a worker's 4 µs per
    reading. Collections now come every 20,000 allocations, when most of those
    containers are gone, and what exists at start (modules, schemas) is frozen out of
    them. Cycles are still collected: memory stays bounded."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)


@dataclass
class _Message:
    delivery: Delivery
    lines: list[str]
    newest_ms: int | None
    hours: set[int]
    origins: list[AnyReading | None]  # beside lines: the reading each encodes (Decoded.origins)
    batch: AnyBatch | None  # their envelope
    personal: set[int] = field(default_factory=set)  # lines of household meters (Decoded.personal)


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
        self.messages.append(_Message(delivery, decoded.lines, decoded.newest_ms, decoded.hours,
                                      decoded.origins, decoded.batch, decoded.personal))
        self.lines += len(decoded.lines)
        if decoded.rejected:
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
        self.stored_acks = StoredAcks(cfg.mqtt)
        self.tags = None
        self.registry = None
        if cfg.registry is not None:
            # must_exist: a missing SQLite file is an error naming it at each check, while the
            # tags known so far are served (ingest never creates the registry; issue 26)
            try:
                self.registry = session_factory(make_engine(cfg.registry.url, must_exist=True))
            except RegistryError as exc:  # a malformed URL or a missing driver: a config error
                raise IngestError(str(exc)) from exc
            self.tags = TagCache(self.registry, check_every_s=cfg.registry.refresh_s)
        self.stats = Stats(dead_letter_store=self.dead_letters.totals(),
                           registry=self.tags.freshness if self.tags else None)
        self._writer_error: BaseException | None = None
        self._unrecorded_seen: dict[str, int] = {}  # gateway -> newest online time, ms (_mark_seen)

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
        self.stored_acks.start()
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
            self.stored_acks.stop()
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
        if self.tags is not None:  # also while idle: staleness is measured and logged
            self.tags.check()
        try:
            delivery = self.consumer.deliveries.get(timeout=wait_s)
        except queue.Empty:
            return
        # One clock reading per wake-up, not per message: it only bounds how far ahead of
        # ingest a reading's time may be (minutes), and a drain lasts at most a batch.
        ctx = Context(now_ms=int(time.time() * 1000), policy=self.cfg.policy)
        while True:
            if counts := batch.add(delivery, ctx, self._decode_tagged):
                self.stats.outcomes.update(counts)
            self.stats.received += 1
            if batch.lines >= self.cfg.batch.max_lines:
                return
            try:
                delivery = self.consumer.deliveries.get_nowait()
            except queue.Empty:
                return

    def _decode_tagged(self, topic: str, payload: bytes, ctx: Context) -> Decoded:
        """``_decode`` with the registry's tags, if there is a registry. While it cannot be
        read, known devices keep their last good tags and readings of devices not seen before
        are dead-lettered as ``registry_unavailable``, to replay later (``ingest.tag_lookup``)."""
        if self.tags is None:
            return self._decode(topic, payload, ctx)
        return decode_tagged(self._decode, topic, payload, ctx, self.tags)

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
        for database, messages in self._by_database(batch.messages):
            try:
                if not self._write(database, messages, stop):
                    return False
            except WriteRejected as exc:
                if not self._write_finding_dropped(database, messages, exc, stop):
                    return False
        self._mark_seen(batch.seen)
        self.stats.acked += self.consumer.ack(m.delivery for m in batch.messages)
        self.stored_acks.confirm((m.delivery.topic, m.delivery.payload, m.batch) for m in batch.messages)
        self.stats.batches += 1
        self.stats.batch_seconds += time.monotonic() - batch.started
        newest_ms = max((m.newest_ms for m in batch.messages if m.newest_ms is not None),
                        default=None)
        if newest_ms is not None:
            self.stats.lag_s = time.time() - newest_ms / 1000
        return True

    def _mark_seen(self, seen: dict[str, int]) -> None:
        """Last-seen in the registry. Secondary to the readings: if the registry cannot be
        written, say so and go on (the gateway_health points are already stored); what was
        not recorded is tried again with the next batch that has statuses of its own (newest
        time per gateway), so a registry busy for a moment does not leave a gateway looking
        silent, and one that stays down costs only the batches that would try anyway."""
        if self.registry is None or not seen:
            return
        for gateway, ms in self._unrecorded_seen.items():
            seen[gateway] = max(seen.get(gateway, 0), ms)
        at = {gw: dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for gw, ms in seen.items()}
        try:
            record_seen(self.registry, at)
        except RegistryError as exc:
            log.warning("%s (last-seen of %d gateways kept for the next batch)", exc, len(seen))
            self._unrecorded_seen = seen
        else:
            self._unrecorded_seen = {}

    def _by_database(self, messages: list[_Message]) -> list[tuple[str, list[_Message]]]:
        """The messages' household readings for the personal database, then the rest for
        the main one with the hours all of them touched: the rollup learns of an hour only
        once its readings are stored (see ``tsdb.schema``)."""
        main = self.cfg.influx.database
        personal = [_only(m, m.personal, hours=False) for m in messages if m.personal]
        rest = [_only(m, set(range(len(m.lines))) - m.personal, hours=True) if m.personal else m
                for m in messages]
        return ([(personal_database(main), personal)] if personal else []) + [(main, rest)]

    def _write(self, database: str, messages: list[_Message], stop: threading.Event) -> bool:
        """Write the messages' points, and in the same request the hours they touched (for
        the rollup, see ``tsdb.schema``)."""
        body = "\n".join([line for m in messages for line in m.lines] + _touched_hours(messages))
        if not body:
            return True
        if not self._post(database, body, len(messages), stop):
            return False
        self.stats.written_points += sum(len(m.lines) for m in messages)
        return True

    def _post(self, database: str, body: str, held: int, stop: threading.Event) -> bool:
        """Write line protocol, waiting while InfluxDB is unavailable (``held`` messages
        stay unacknowledged meanwhile); False if stopped first. Raises ``WriteRejected``
        (``PartialWrite``) as ``tsdb`` does."""
        while True:
            try:
                self.influx.write_lines(database, body)
                return True
            except Unavailable as exc:
                if stop.is_set():
                    return False
                log.warning("InfluxDB unavailable, holding %d messages unacknowledged: %s", held, exc)

    def _write_finding_dropped(self, database: str, messages: list[_Message],
                               answer: WriteRejected, stop: threading.Event) -> bool:
        """InfluxDB refused the batch (4xx) or stored only part of it (a partial write):
        find the lines it does not store by writing parts again (``ingest.partial_writes``),
        dead-letter only their readings (one per letter; a line of no reading, its message),
        with InfluxDB's answer and, for a field type conflict, what to do; count as written
        exactly the lines stored. False if stopped before all that was known."""
        owners = [(m, i) for m in messages for i in range(len(m.lines))]
        lines = [m.lines[i] for m, i in owners]
        dropped = find_dropped(lines, answer,
                               lambda part: self._post(database, "\n".join(part), len(messages), stop))
        if dropped is None:
            return False
        try:
            touched = _touched_hours(messages)
            if touched and not self._post(database, "\n".join(touched), len(messages), stop):
                return False
        except WriteRejected as exc:  # the rollup will miss these hours until they are rewritten
            log.warning("InfluxDB refused the touched hours of a batch: %s", exc)
        self.stats.written_points += len(lines) - len(dropped)
        conflicts: set[FieldTypeConflict] = set()
        dead: list[tuple[str, Rejected]] = []
        whole: set[int] = set()  # messages dead-lettered whole
        for index, error in dropped:
            message, line = owners[index]
            reason = f"rejected by InfluxDB: {error}"
            if isinstance(error, PartialWrite) and error.conflict is not None:
                conflicts.add(error.conflict)
                reason += f"; {error.conflict.advice()}; then replay the dead letters (iotgw ingest replay)"
            origin = message.origins[line] if line < len(message.origins) else None
            topic = message.delivery.topic
            if origin is not None and message.batch is not None:
                dead.append((topic, Rejected("influx_rejected", reason, one_reading(message.batch, origin))))
            elif id(message) not in whole:
                whole.add(id(message))
                dead.append((topic, Rejected("influx_rejected", reason, message.delivery.payload)))
        log.warning("InfluxDB stored %d of %d points of a batch (its answer: %s); the readings of"
                    " the %d others are dead-lettered", len(lines) - len(dropped), len(lines),
                    answer, len(dropped))
        for conflict in conflicts:
            log.warning("field type conflict in InfluxDB: %s; then replay the dead letters"
                        " (iotgw ingest replay)", conflict.advice())
        if dead:
            self._dead_letter(dead)
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


def _only(message: _Message, lines: set[int], *, hours: bool) -> _Message:
    """The message with only the given lines (and its touched hours, or none)."""
    keep = sorted(lines)
    return _Message(message.delivery, [message.lines[i] for i in keep], message.newest_ms,
                    message.hours if hours else set(),
                    [message.origins[i] for i in keep], message.batch)


def _touched_hours(messages: list[_Message]) -> list[str]:
    """Lines recording the hours the messages' readings fall in, for the rollup (see
    ``tsdb.schema``)."""
    written_at = int(time.time() * 1000)
    hours = set().union(*(m.hours for m in messages))
    return [encode_point(Point(TOUCHED_HOURS, {"written_at": written_at}, hour * HOUR_MS))
            for hour in sorted(hours)]
