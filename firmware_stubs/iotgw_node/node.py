# The node's cycle: wake, read, keep in the ring, publish what the ring holds, sleep.
import json

from iotgw_node import contract
from iotgw_node.ring import Ring

FLOOR_MS = 1735689600000  # 2025-01-01: a clock before that is not set (no NTP yet)
MAX_PER_MESSAGE = 50


class Node:
    def __init__(self, hal, config, read):
        """``read()`` returns {quantity: value} or raises; ``hal`` is the hardware layer."""
        self.hal, self.config, self.read = hal, config, read
        self.id = config["node_id"]
        self.ring = Ring(hal, "ring.jsonl", config.get("ring_size", 500))
        self.seq = int(hal.load_state("seq", 0))
        self.read_errors = 0
        self.unclocked = 0

    def cycle(self):
        """One wake-up; returns how many readings were published."""
        now = self.hal.now_ms()
        try:
            values = self.read()
        except Exception as exc:  # a bad frame or a silent sensor: counted, next cycle
            self.read_errors += 1
            self.hal.log("read failed: %s" % exc)
            values = None
        if now < FLOOR_MS:
            # The clock is not set (a reboot before NTP) and deep sleep has reset every
            # timer: the reading cannot be placed in time. Counted, never sent as 1970.
            self.unclocked += 1 if values else 0
            return 0
        if values:
            self.ring.append({"device": self.id, "ts": now, "values": values, "quality": "good"})
        return self.publish()

    def publish(self):
        readings = self.ring.items()
        if not readings:
            return 0
        client = self.hal.mqtt(self.id, self.config["broker"], self.config.get("port", 1883))
        client.set_last_will(contract.status_topic(self.id),
                             json.dumps({"v": contract.SCHEMA_VERSION, "state": "offline"}),
                             retain=True, qos=1)
        try:
            client.connect()
        except OSError as exc:
            self.hal.log("broker unreachable, %d readings kept: %s" % (len(readings), exc))
            return 0
        sent = 0
        try:
            client.publish(contract.status_topic(self.id), json.dumps(self._status()), retain=True, qos=1)
            while sent < len(readings):
                chunk = readings[sent:sent + MAX_PER_MESSAGE]
                self.seq += 1
                self.hal.save_state("seq", self.seq)  # never reused, even after a reset
                batch = {"v": contract.SCHEMA_VERSION, "gateway": self.id, "seq": self.seq,
                         "replay": sent > 0 or len(readings) > 1, "readings": chunk}
                client.publish(contract.telemetry_topic(self.id), json.dumps(batch), qos=1)
                sent += len(chunk)
        except OSError as exc:
            self.hal.log("publish failed after %d readings: %s" % (sent, exc))
        finally:
            self.ring.remove_first(sent)
            try:
                client.disconnect()
            except OSError:
                pass
        return sent

    def _status(self):
        return {"v": contract.SCHEMA_VERSION, "state": "online", "ts": self.hal.now_ms(),
                "health": {"ring_depth": float(len(self.ring.items())),
                           "ring_dropped": float(self.ring.dropped),
                           "read_errors": float(self.read_errors),
                           "unclocked": float(self.unclocked)}}

    def run(self):
        while True:
            self.cycle()
            self.hal.deep_sleep(self.config.get("interval_s", 300))
