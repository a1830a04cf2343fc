"""The edge agent's loop: poll on schedule, commit to the buffer, publish, delete once stored.

One thread owns the buffer. Each turn of the loop:

1. reads every source that is due and commits the readings and the sources' checkpoints
   in one transaction (a group commit: one fsync per turn, however many devices);
2. applies the broker's PUBACKs and ingest's confirmations: with end-to-end
   acknowledgement (``[buffer] stored_ack``, the default) a PUBACK only hands a message's
   chunks over (``gateway.handover``) and they are deleted once ingest says, on
   ``iot/v1/{gateway}/stored``, that the message's readings are stored; without it (the
   earlier contract) the PUBACK deletes them;
3. fills the in-flight window with batches of the oldest buffered readings.

What was handed over and not confirmed is sent again after every reconnect (the broker
may have lost it: a kill -9 of Mosquitto loses what it queued for an ingest worker that
was down) and after ``[buffer] stored_timeout_s``; both are flagged ``replay``.

A batch is flagged ``replay`` when its readings waited in the buffer through a restart or
a broker outage (they were buffered before the current connection came up).

Only a PUBACK with reason Success hands rows over (or deletes them, without end-to-end
acknowledgement). A message the broker refused (a failure
reason such as "Not authorized") or delivered to nobody ("No matching subscribers": no
ingest worker has subscribed yet, e.g. right after a broker restart) keeps its rows; they
are sent again after a capped exponential backoff (1 s doubling to 60 s), and each such
answer is logged and counted.

A buffer that cannot be written (read-only or failing SD card, disk full to the last byte)
never stops the agent, whether at open, on a group commit or on a delete: it publishes
what it can read; a chunk acknowledged but not deletable is remembered in memory and not
taken again, then deleted once the disk is back; new readings wait in a bounded memory
queue (``gateway.memory_queue``, lost on a power cut) and are published from there, done
with at the PUBACK (they are in no buffer to hand over, and ask for no confirmation). Every
``_RECOVER_S`` the agent tries the disk again; once writable, the remembered chunks are
deleted and the memory queue is committed to the buffer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from iotgw.devices import ConfigError, Reading, telemetry_topic
from iotgw.devices.telemetry import SCHEMA_VERSION
from iotgw.gateway.buffer import Buffer, Limits, Pending
from iotgw.gateway.clock import ClockWatch
from iotgw.gateway.commands import Refused, Reloader, answer, request_id, unchangeable
from iotgw.gateway.config import GatewayConfig
from iotgw.gateway.errors import BufferUnavailable, DeviceReadError, GatewayError
from iotgw.gateway.handover import Handed, Handover
from iotgw.gateway.health import ReadErrors, Stats, health
from iotgw.gateway.memory_queue import MemoryQueue
from iotgw.gateway.pipeline import Source
from iotgw.gateway.publisher import Ack, Command, Connected, Publisher, Stored
from iotgw.gateway.report import ChangeFilter
from iotgw.gateway.schedule import Schedule

log = logging.getLogger(__name__)

T = TypeVar("T")

_IDLE_WAIT_S = 0.5
_RESEND_MIN_S = 1.0
_RESEND_MAX_S = 60.0
_RECOVER_S = 5.0  # how often a buffer that cannot be written is tried again


def encode_batch(gateway_id: str, seq: int, replay: bool, pending: Pending, *,
                 ack: bool = False) -> bytes:
    """The v1 telemetry message, built from the buffered rows' JSON without re-encoding;
    ``ack`` asks ingest to confirm it stored (the field is left out otherwise, as the
    earlier contract sent it)."""
    head = f'{{"v":{SCHEMA_VERSION},"gateway":"{gateway_id}","seq":{seq},'
    replay_json = "true" if replay else "false"
    ack_json = '"ack":true,' if ack else ""
    return f'{head}"replay":{replay_json},{ack_json}"readings":[{pending.body}]}}'.encode()


class Agent:
    def __init__(
        self, config: GatewayConfig, sources: list[Source], *,
        clock: Callable[[], float] = time.time, reloader: Reloader | None = None,
        clock_watch: ClockWatch | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._clock_watch = clock_watch or ClockWatch(require_sync=config.clock.require_sync,
                                                      wall=clock)
        self._clock_trusted = True
        self._reloader = reloader
        buffer = config.buffer
        self.buffer = Buffer(buffer.path, synchronous=buffer.synchronous, limits=Limits(
            max_bytes=buffer.max_bytes, max_age_s=buffer.max_age_s, when_full=buffer.when_full,
            min_free_bytes=buffer.min_free_bytes, batch_readings=config.publish.max_readings_per_batch,
            batch_bytes=config.publish.max_batch_bytes), fallback=True)
        if not self.buffer.writable:
            log.error("buffer %s cannot be opened for writing (read-only or failing disk): publishing"
                      " what it holds, new readings held in memory (lost on a power cut)", buffer.path)
        self._memory = MemoryQueue(buffer.memory_queue_readings)
        self._memory_inflight: dict[int, list[Reading]] = {}  # message id -> readings from memory
        self._undeleted: set[int] = set()  # chunks acknowledged, not yet deleted (disk not writable)
        self._next_recover = 0.0
        self._schedule = self._scheduled(config, sources, [])
        self._holding = self.buffer.untimed() > 0  # readings held before the clock was trusted
        # Chunks the broker took, waiting for ingest's word that they are stored.
        self._handover = Handover(buffer.stored_timeout_s) if buffer.stored_ack else None
        self._released: set[int] = set()  # chunks sent again for want of a confirmation
        self.publisher = Publisher(
            config.gateway_id, config.broker, inflight_window=config.publish.inflight_window,
            stored=buffer.stored_ack,
        )
        self._topic = telemetry_topic(config.gateway_id)
        self._seq = iter(())
        self._cursor = 0
        # Rows up to this id were buffered before the current connection: sent as replay.
        self._replay_below = self.buffer.max_id() + 1
        self._inflight: dict[int, Pending] = {}  # message id -> what it carries
        self._inflight_seq: dict[int, int] = {}  # message id -> its batch sequence number
        self._started = time.monotonic()
        self._next_heartbeat = self._started
        self._resend_at: float | None = None
        self._resend_delay_s = _RESEND_MIN_S
        self._next_disk_warning = 0.0
        self.stats = Stats()
        self.read_errors = ReadErrors()  # per device, for the heartbeat

    def _scheduled(self, config: GatewayConfig, sources: list[Source],
                   old: list[Schedule]) -> list[Schedule]:
        """The poll schedule of ``sources``, resumed from the buffer's checkpoints; a device
        already scheduled keeps its turn and its last timestamp."""
        checkpoints = self.buffer.checkpoints()
        for source in sources:
            if source.device_id in checkpoints:
                source.restore(checkpoints[source.device_id])
        start = time.monotonic()
        reports = {d.id: ChangeFilter(d.report) for d in config.devices if d.report is not None}
        jitter = {d.id: d.jitter_s for d in config.devices}
        before = {item.source.device_id: item for item in old}
        return [Schedule(s, before[s.device_id].slot if s.device_id in before else start,
                          before[s.device_id].last_ms if s.device_id in before else 0,
                          reports.get(s.device_id), jitter.get(s.device_id, 0.0)) for s in sources]

    def run(self, stop: threading.Event, *, exit_when_drained: bool = False) -> None:
        """Loop until ``stop`` is set, or, with ``exit_when_drained``, until every finite
        source is finished and every reading is acknowledged by the broker."""
        self.publisher.start()
        try:
            while not stop.is_set():
                self._recover_if_due()
                self._poll_due()
                self._handle_events(self._wait_s())
                self._resend_if_due()
                self._release_unconfirmed()
                self._heartbeat_if_due()
                if self.publisher.connected:
                    self._fill_window()
                if exit_when_drained and self._drained():
                    log.info("all sources finished and every reading acknowledged")
                    return
        finally:
            self.publisher.stop()
            if left := len(self._memory) + self._memory.in_flight:
                log.error("stopping with %d readings held in memory: lost", left)
                self._lost(left)
            self.buffer.close()

    def _heartbeat_if_due(self) -> None:
        now = time.monotonic()
        if now < self._next_heartbeat or not self.publisher.connected:
            return
        self._next_heartbeat = now + self.config.publish.heartbeat_s
        numbers = health(self.buffer, started=self._started, read=self.stats.read,
                         read_errors=self.stats.read_errors,
                         suppressed=self.stats.suppressed, acked=self.stats.acked,
                         memory_queued=len(self._memory) + self._memory.in_flight,
                         now_ms=int(self._clock() * 1000))
        if self._handover is not None:  # readings the broker took, not yet confirmed stored
            numbers["unconfirmed"] = float(self._handover.readings)
        self.publisher.heartbeat(numbers, read_errors=self.read_errors.snapshot())

    def _drained(self) -> bool:
        """Drained means on disk too: acknowledged chunks not yet deleted, or readings in
        memory, keep the agent running until the disk is writable again."""
        return (all(item.source.finished for item in self._schedule) and not self._inflight
                and not self._memory_inflight and not len(self._memory) and not self._undeleted
                and self.buffer.depth() == 0)

    def _recover_if_due(self) -> None:
        """While the buffer cannot be written, try it again every ``_RECOVER_S``; once it can,
        delete what was acknowledged meanwhile and commit the memory queue to it."""
        if self.buffer.writable:
            if len(self._memory):
                self._commit_memory()
            return
        now = time.monotonic()
        if now < self._next_recover:
            return
        self._next_recover = now + _RECOVER_S
        if not self.buffer.recover():
            return
        log.warning("buffer %s writable again: deleting %d acknowledged chunks, committing %d"
                    " readings held in memory", self.buffer.path, len(self._undeleted), len(self._memory))
        if self._undeleted:
            try:
                self.buffer.delete(self._undeleted)
                self._undeleted.clear()
            except BufferUnavailable as exc:
                log.error("%s: acknowledged chunks kept, not sent again", exc)
                return
        self._commit_memory()

    def _commit_memory(self) -> None:
        """Move the readings held in memory into the buffer (those in flight stay in memory
        until the broker answers). On failure they stay queued."""
        readings = self._memory.drain()
        try:
            self.buffer.append(readings, {}, now_ms=int(self._clock() * 1000))
        except BufferUnavailable as exc:
            self._hold_in_memory(readings, exc)

    def _wait_s(self) -> float:
        pending = [item.due for item in self._schedule if not item.source.finished]
        if not pending:
            return _IDLE_WAIT_S
        return max(0.0, min(_IDLE_WAIT_S, min(pending) - time.monotonic()))

    def _poll_due(self) -> None:
        now = time.monotonic()
        clock = self._clock_watch.sample()
        if clock.trusted != self._clock_trusted:
            log.warning("wall clock %s", "trusted again" if clock.trusted else
                        "not trusted (before 2025, or not synchronised): readings are held")
            self._clock_trusted = clock.trusted
        if clock.trusted and self._holding:
            corrected, lost = self.buffer.release_untimed(
                boot=self._clock_watch.boot, offset_ms=clock.wall_ms - clock.mono_ms, now_ms=clock.wall_ms)
            self._holding = False
            log.warning("clock trusted: %d held readings timed from the monotonic clock (quality"
                        " uncertain), %d of an earlier boot stamped now with quality bad",
                        corrected, lost)
        readings: list[Reading] = []  # stamped here
        forwarded: list[Reading] = []  # stamped by their nodes (pushed sources)
        checkpoints = {}
        pushed = []  # sources read this turn, told once their readings are committed
        for item in self._schedule:
            if item.source.finished or item.due > now:
                continue
            # A point's identity is (series, timestamp): two readings of a device must never
            # share a millisecond, or the second would overwrite the first in InfluxDB.
            stamp = max(int(self._clock() * 1000), item.last_ms + 1)
            try:
                result = item.source.read(stamp)
            except DeviceReadError as exc:
                self.stats.read_errors += 1
                self.read_errors.record(item.source.device_id, str(exc), stamp if clock.trusted else None)
                log.warning("%s", exc)
            else:
                for reading in result:  # what was read, before any filter: -v to see it
                    log.debug("read %s at %d: %s %s", reading.device, reading.ts, reading.values,
                              reading.quality.value)
                if clock.trusted:  # an untrusted stamp must not hold later ones back
                    item.last_ms = stamp
                checkpoints[item.source.device_id] = item.source.checkpoint()
                # Pushed readings carry their node's own time, trusted or not by the node.
                target = forwarded if item.source.pushed else readings
                for reading in result:
                    if item.report is None or item.report.wants(reading):
                        target.append(reading)
                    else:
                        self.stats.suppressed += 1
                pushed.append(item.source)
            item.next(now)
        if readings and not clock.trusted:
            self.stats.read += len(readings)
            self._holding |= self._committed(len(readings), lambda: self.buffer.hold_untimed(
                readings, checkpoints, boot=self._clock_watch.boot, mono_ms=clock.mono_ms) or True
            ) is not None
        elif readings:
            self._append(readings, checkpoints)
        if forwarded:
            self._append(forwarded, {})
        for source in pushed:
            source.committed()

    def _committed(self, count: int, commit: Callable[[], T],
                   readings: list[Reading] | None = None) -> T | None:
        """Run a group commit; when the buffer cannot be written (read-only or failing disk,
        disk full, I/O error), ``readings`` go to the memory queue (counted ``memory_held``;
        without ``readings`` they are lost, counted ``write_failed``) instead of stopping the
        agent: it goes on publishing. A crash here would restart into the same disk and never
        send anything again."""
        try:
            return commit()
        except BufferUnavailable as exc:
            if readings is None:
                self._lost(count)
            else:
                self.buffer.note("memory_held", count)
            self._hold_in_memory(readings or [], exc)
            return None

    def _lost(self, count: int) -> None:
        self.stats.write_failed += count
        self.buffer.note("write_failed", count)

    def _hold_in_memory(self, readings: list[Reading], exc: BufferUnavailable) -> None:
        dropped = self._memory.put(readings)
        if dropped:
            self.buffer.note("memory_dropped", dropped)
            self._lost(dropped)
        now = time.monotonic()
        if now >= self._next_disk_warning:
            self._next_disk_warning = now + 60
            log.error("%s: %d readings held in memory (lost on a power cut), %d queued, counters %s;"
                      " publishing what is buffered", exc, len(readings), len(self._memory),
                      self.buffer.counters())

    def _append(self, readings: list[Reading], checkpoints: dict[str, str]) -> None:
        """A group commit to the buffer, saying what its limits did."""
        self.stats.read += len(readings)
        done = self._committed(len(readings), lambda: self.buffer.append(
            readings, checkpoints, now_ms=int(self._clock() * 1000)), readings)
        if done is None:
            return
        if done.dropped_full or done.dropped_age or done.refused or done.refused_disk:
            log.warning("buffer limits: dropped %d oldest (full), %d too old, refused %d new"
                        " (buffer full), %d new (disk nearly full); since the buffer was made: %s",
                        done.dropped_full, done.dropped_age, done.refused, done.refused_disk,
                        self.buffer.counters())

    def _handle_events(self, timeout_s: float) -> None:
        try:
            event = self.publisher.events.get(timeout=timeout_s)
        except queue.Empty:
            return
        acked: list[Pending | Handed] = []
        while True:
            if isinstance(event, Connected):
                # Anything buffered now waited through an outage; unacknowledged messages are
                # re-sent by paho itself, so start over from the oldest row not in flight.
                # What the broker took but ingest never confirmed may be lost with a broker
                # that restarted: it goes again too (all of it is below _replay_below).
                self._replay_below = self.buffer.max_id() + 1
                self._cursor = 0
                if self._handover is not None and (released := self._handover.release_all()):
                    log.info("reconnected: sending again %d chunks the broker took and ingest has"
                             " not confirmed stored", len(released))
            elif isinstance(event, Stored):
                if self._handover is not None:
                    acked.extend(self._handover.stored(event.seqs))
            elif isinstance(event, Command):
                self._command(event)
            elif isinstance(event, Ack) and event.mid in self._memory_inflight:
                readings = self._memory_inflight.pop(event.mid)
                self._memory.answered(readings, event.delivered)  # undelivered: queued again
                if event.delivered:
                    self.stats.acked += len(readings)
                else:
                    self._schedule_resend(len(readings), event.reason)
            elif isinstance(event, Ack):
                pending = self._inflight.pop(event.mid, None)
                seq = self._inflight_seq.pop(event.mid, None)
                if pending is not None and event.delivered:
                    if self._handover is not None and seq is not None:
                        self._handover.hand(seq, pending, time.monotonic())
                    else:
                        acked.append(pending)
                    self._resend_delay_s = _RESEND_MIN_S
                elif pending is not None:
                    self._schedule_resend(pending.count, event.reason)
            try:
                event = self.publisher.events.get_nowait()
            except queue.Empty:
                break
        if acked:
            ids = [i for pending in acked for i in pending.ids]
            try:
                self.buffer.delete(ids)
            except BufferUnavailable as exc:  # kept on disk, not taken again (see _fill_window)
                self._undeleted.update(ids)
                log.error("%s: %d acknowledged chunks kept until the disk is writable", exc, len(ids))
            self.stats.acked += sum(pending.count for pending in acked)

    def _command(self, command: Command) -> None:
        rid = None
        handlers: dict[str, Callable[[], dict[str, object]]] = {
            "ping": self._ping, "rebirth": self._rebirth, "reload": self._reload}
        try:
            rid = request_id(command.payload)
            handler = handlers.get(command.name)
            if handler is None:
                raise Refused(f"unknown command {command.name!r}; known: {', '.join(handlers)}")
            result = handler()
            body = answer(command.name, rid, result=result)
            log.info("command %s done: %s", command.name, result)
        except Refused as exc:
            body = answer(command.name, rid, error=str(exc))
            log.warning("command %s refused: %s", command.name, exc)
        self.publisher.respond(command, body)

    def _ping(self) -> dict[str, object]:
        return {"time_ms": int(self._clock() * 1000),
                "uptime_s": round(time.monotonic() - self._started, 1)}

    def _rebirth(self) -> dict[str, object]:
        self._next_heartbeat = time.monotonic()
        self._heartbeat_if_due()
        return {"status": "online"}

    def _reload(self) -> dict[str, object]:
        if self._reloader is None:
            raise Refused("this agent was not started from a configuration file")
        try:
            config, sources = self._reloader()
        except (ConfigError, GatewayError) as exc:
            raise Refused(f"configuration not applied, the running one is kept: {exc}") from exc
        if (why := unchangeable(self.config, config)) is not None:
            raise Refused(f"configuration not applied, the running one is kept: {why}")
        old, self._schedule = self._schedule, self._scheduled(config, sources, self._schedule)
        self.config = config
        for item in old:  # the new sources have their own connections
            item.source.close()
        return {"devices": len(sources)}

    def _schedule_resend(self, count: int, reason: str) -> None:
        self.stats.undelivered += count
        if self._resend_at is None:
            log.warning("broker did not deliver a batch of %d readings (%s): kept, sending again"
                        " in %.0fs", count, reason, self._resend_delay_s)
            self._resend_at = time.monotonic() + self._resend_delay_s
            self._resend_delay_s = min(_RESEND_MAX_S, self._resend_delay_s * 2)

    def _release_unconfirmed(self) -> None:
        """Send again, flagged replay, what ingest has not confirmed within
        ``stored_timeout_s`` (its confirmation lost, or ingest down that long)."""
        if self._handover is None:
            return
        released = self._handover.release_expired(time.monotonic())
        if released:
            log.warning("%d chunks handed to the broker were not confirmed stored by ingest within"
                        " %.0f s ([buffer] stored_timeout_s): sending them again", len(released),
                        self._handover.timeout_s)
            self._released.update(released)
            self._cursor = 0

    def _resend_if_due(self) -> None:
        """Rewind the cursor so undelivered rows (below it, not in flight) go out again."""
        if self._resend_at is not None and time.monotonic() >= self._resend_at:
            self._resend_at = None
            self._cursor = 0

    def _next_seq(self) -> int:
        seq = next(self._seq, None)
        if seq is None:
            self._seq = iter(self.buffer.reserve_seq())
            seq = next(self._seq)
        return seq

    def _fill_window(self) -> None:
        publish = self.config.publish
        # In flight chunks lie below the cursor, except after a rewind (reconnect, resend):
        # only then must ``take`` be told which to skip.
        handed = self._handover.ids if self._handover is not None else set()
        above = any(p.ids[-1] > self._cursor for p in self._inflight.values())
        in_flight = {i for p in self._inflight.values() for i in p.ids} if above else set()
        if handed and self._handover is not None and self._handover.last_id > self._cursor:
            in_flight |= handed
        skip = in_flight | self._undeleted if self._undeleted else in_flight
        while len(self._inflight) + len(self._memory_inflight) < publish.inflight_window:
            try:
                pending = self.buffer.take(
                    after_id=self._cursor, max_readings=publish.max_readings_per_batch,
                    max_bytes=publish.max_batch_bytes, skip=skip,
                )
            except BufferUnavailable as exc:  # a chunk to cut on a read-only disk
                log.error("%s: the rest of the buffer waits for the disk", exc)
                pending = None
            if pending is None:
                self._fill_from_memory()
                return
            replay = pending.first_id < self._replay_below
            if self._released and not self._released.isdisjoint(pending.ids):
                replay = True
                self._released.difference_update(pending.ids)
            seq = self._next_seq()
            payload = encode_batch(self.config.gateway_id, seq, replay, pending,
                                   ack=self._handover is not None)
            mid = self.publisher.publish(self._topic, payload)
            self._inflight[mid] = pending
            self._inflight_seq[mid] = seq
            self.stats.published_batches += 1
            self._cursor = pending.ids[-1]

    def _fill_from_memory(self) -> None:
        """Publish readings held in memory, once the buffer has nothing more to send."""
        publish = self.config.publish
        while len(self._inflight) + len(self._memory_inflight) < publish.inflight_window:
            taken = self._memory.take(publish.max_readings_per_batch, publish.max_batch_bytes)
            if taken is None:
                return
            readings, body = taken
            payload = encode_batch(self.config.gateway_id, self._next_seq(), False,
                                   Pending([], body, len(readings)))
            self._memory_inflight[self.publisher.publish(self._topic, payload)] = readings
            self.stats.published_batches += 1
