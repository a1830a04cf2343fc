"""A broker crash while it queues messages for an ingest worker that is down.

Two ingest workers share the subscription; one is killed, and the broker keeps queueing
its share of the stream in its session (DESIGN.md). Then the broker is killed (-9) and
restarted, and the worker too. Mosquitto does not restore shared subscriptions from its
persistence file, so what it had queued for the dead worker is gone, though it had
acknowledged it to the gateway (PUBACK).

With end-to-end acknowledgement (the default) the gateway still holds those readings,
handed over but never confirmed stored by ingest, and sends them again once it reconnects:
none lost. With it switched off (``[buffer] stored_ack = false``, the earlier contract's
PUBACK rule) the same crash loses them, and this row shows that it does: the loss is
what the feature buys.
"""

from __future__ import annotations

import time

import pytest
from iotgw.gateway import GatewayConfig

from iotgw.processes import IotgwProcess
from tests.e2e.spine import Spine, tally
from tests.faults import ledger
from tests.faults.ledger import seconds

pytestmark = [pytest.mark.integration, pytest.mark.faults]

DEVICES, SAMPLES, INTERVAL_S = 10, 250, 0.05  # 12.5 s of readings, 2500 in all
SAVE_INTERVAL_S = 1.0  # deploy/mosquitto/mosquitto.conf: autosave_interval 1
SETTLED_S = 3.0  # no point arrived for this long: ingest has stored all it will


def _crash_with_a_worker_down(spine: Spine, *, stored_ack: bool) -> tuple[GatewayConfig, IotgwProcess]:
    """Worker 2 down with messages queued for it, the broker killed and restarted, worker
    2 restarted; returns the gateway's config and process once it exited (drained)."""
    spine.start_ingest(1)
    second = spine.start_ingest(2)
    time.sleep(1.5)  # both sessions and their shared subscriptions are in the broker's state
    second.kill()
    [cfg] = spine.fleet(1, DEVICES, SAMPLES, INTERVAL_S)
    cfg = cfg.model_copy(update={"buffer": cfg.buffer.model_copy(update={"stored_ack": stored_ack})})
    gateway = spine.start_gateway(cfg)
    # Worker 1 stores its share; the broker queues worker 2's, and has PUBACKed it.
    spine.wait_until(lambda: spine.count() > 300, timeout_s=60, what="worker 1's share")
    assert gateway.running, "the gateway must still be sending when the broker dies"
    _just_before_a_save(spine)
    spine.broker.kill()
    time.sleep(seconds(1.0, 30.0))
    spine.broker.start()
    second.start()
    assert gateway.wait(120 + seconds(0, 30)) == 0, gateway.log_tail()
    return cfg, gateway


def _just_before_a_save(spine: Spine) -> None:
    """Return most of a save interval after the broker's last save of its state: what it
    queued since is in memory only, so the crash lands on something (Mosquitto restores the
    queued messages it saved, shared subscription or not). Not a timing assertion: the
    moment of the fault is placed, and the tally says what it did."""
    db = spine.broker.workdir / "data" / "mosquitto.db"

    def stamp() -> tuple[int, int] | None:
        try:
            stat = db.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    before = stamp()
    spine.wait_until(lambda: stamp() != before, timeout_s=10, what="the broker's autosave")
    time.sleep(SAVE_INTERVAL_S * 0.7)


def _settled(spine: Spine, *, deadline_s: float = 60.0) -> int:
    """The stored count once nothing has arrived for ``SETTLED_S``."""
    deadline = time.monotonic() + deadline_s
    count, since = spine.count(), time.monotonic()
    while time.monotonic() - since < SETTLED_S and time.monotonic() < deadline:
        time.sleep(0.25)
        now = spine.count()
        if now != count:
            count, since = now, time.monotonic()
    return count


def test_broker_crash_with_a_worker_down_loses_nothing(spine: Spine) -> None:
    cfg, _ = _crash_with_a_worker_down(spine, stored_ack=True)
    ledger.none_lost("broker kill -9 while queueing for a dead ingest worker (end-to-end ack)",
                     tally(spine, [cfg]))


def test_without_end_to_end_ack_the_same_crash_loses_readings(spine: Spine) -> None:
    """The control: the PUBACK rule (``stored_ack = false``). Recorded as its own row, whose
    promise is that the loss shows: 0 lost here would mean the fault was not reproduced,
    and the row above would prove nothing."""
    cfg, _ = _crash_with_a_worker_down(spine, stored_ack=False)
    sent = DEVICES * SAMPLES
    stored = _settled(spine)
    lost = sent - stored
    fault = "same crash, end-to-end ack off (PUBACK deletes)"
    ok = lost > 0 and tally_has_no_duplicates(spine, cfg)
    verdict = f"{lost} lost, as expected without it" if ok else "FAILED: no loss shown, fault not reproduced"
    ledger.ROWS.append(ledger.Row(fault, sent, stored, lost, 0, "loss shown", verdict, ok))
    assert ok, f"{fault}: sent {sent}, stored {stored}"


def tally_has_no_duplicates(spine: Spine, cfg: GatewayConfig) -> bool:
    """Every stored point is one the gateway's devices sent: only loss, nothing else wrong."""
    stored = spine.stored()
    return all(len(stored[d.id]) <= SAMPLES for d in cfg.devices)
