"""What every benchmark sets up alike: its options, a work folder, the local broker and
influxd (``iotgw.processes``), and the iotgw processes it starts, all stopped when it ends.
The scripts import it as a sibling (``bench/`` is on ``sys.path`` when one runs)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import select
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path

from iotgw.processes import Influxd, IotgwProcess, Mosquitto


def options(doc: str, **defaults: int | float | str | bool) -> argparse.Namespace:
    """``--some-name VALUE`` for each ``some_name=default`` (a bool is a flag); the script's
    docstring's first line is its help."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return parser.parse_args()


@dataclass
class Bench:
    work: Path
    broker: Mosquitto
    influxd: Influxd
    processes: list[IotgwProcess] = field(default_factory=list)

    def start(self, proc: IotgwProcess) -> IotgwProcess:
        """Start one of ours; it is stopped with the bench."""
        proc.start()
        self.processes.append(proc)
        return proc


@contextmanager
def bench(name: str, *, broker: bool = False, influxd: bool = False) -> Iterator[Bench]:
    """A fresh work folder with the services asked for running; everything stopped at the end."""
    work = Path(tempfile.mkdtemp(prefix=f"iotgw-{name}-"))
    running = Bench(work, Mosquitto(work / "mosquitto"), Influxd(work / "influxd"))
    services = [s for s, wanted in ((running.broker, broker), (running.influxd, influxd)) if wanted]
    try:
        for service in services:
            service.start()
        yield running
    finally:
        for proc in reversed(running.processes):
            proc.stop()
        for service in services:
            service.stop()


def _packet(kind: int, body: bytes) -> bytes:
    """An MQTT packet: fixed header (type and flags, remaining length) and body."""
    size, length = len(body), bytearray()
    while True:
        size, digit = divmod(size, 128)
        length.append(digit | (128 if size else 0))
        if not size:
            return bytes([kind, *length]) + body


def _publish_packets(messages: list[tuple[str, bytes]]) -> list[bytes]:
    """QoS 1 PUBLISH packets of the messages, packet ids 1 to 65,535 in turn."""
    out = []
    for n, (topic, payload) in enumerate(messages):
        name = topic.encode()
        mid = n % 65_535 + 1
        out.append(_packet(0x32, len(name).to_bytes(2, "big") + name + mid.to_bytes(2, "big") + payload))
    return out


def _publisher(port: int, client_id: str, messages: list[tuple[str, bytes]], window: int,
               ready: Connection, go: Event) -> None:
    """One publisher process: MQTT 3.1.1 over a plain socket, packets built beforehand, at
    most ``window`` unacknowledged; sends ``ready`` once connected, then publishes at ``go``
    and sends how many PUBACKs came back once all did."""
    packets = _publish_packets(messages)
    with socket.create_connection(("127.0.0.1", port)) as sock:
        name = client_id.encode()
        sock.sendall(_packet(0x10, b"\x00\x04MQTT\x04\x02\x00\x00" + len(name).to_bytes(2, "big") + name))
        if sock.recv(4) != b"\x20\x02\x00\x00":
            raise RuntimeError(f"broker refused publisher {client_id}")
        ready.send(True)
        go.wait()
        sent = acked = 0
        pending = b""
        while acked < len(packets):
            if sent < len(packets) and sent - acked < window:
                chunk = packets[sent:min(len(packets), sent + 200, acked + window)]
                sock.sendall(b"".join(chunk))
                sent += len(chunk)
                if not select.select([sock], [], [], 0)[0]:
                    continue
            pending += sock.recv(65_536)
            whole = len(pending) // 4  # a 3.1.1 PUBACK is 4 bytes, and nothing else comes
            acked += whole
            pending = pending[whole * 4:]
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    ready.send(acked)


class Publishers:
    """Several publisher processes, each connected and waiting with its share of the
    messages (whole gateways: a gateway's messages keep their order): ``run`` starts them
    at once and returns when the broker has acknowledged every message (QoS 1).

    Not paho: on a machine of two cores, paho's ~90 µs of CPU per published message would
    be taken from the processes under test. Packets are built before the clock starts.
    """

    def __init__(self, port: int, messages: list[tuple[str, bytes]], *, processes: int = 2,
                 window: int = 2_000) -> None:
        gateways = sorted({topic for topic, _ in messages})
        shares = [[m for m in messages if gateways.index(m[0]) % processes == p] for p in range(processes)]
        self._go = multiprocessing.Event()
        self._pipes = []
        self._procs = []
        for index, share in enumerate(shares):
            ours, theirs = multiprocessing.Pipe()
            proc = multiprocessing.Process(target=_publisher, daemon=True, args=(
                port, f"bench-publisher-{index}", share, window, theirs, self._go))
            proc.start()
            self._pipes.append(ours)
            self._procs.append(proc)
        for pipe in self._pipes:
            if not pipe.poll(60):
                raise RuntimeError("a publisher did not connect within 60 s")
            pipe.recv()

    def run(self, timeout_s: float = 600) -> float:
        """Publish everything; returns the seconds until the last PUBACK."""
        start = time.perf_counter()
        self._go.set()
        for pipe in self._pipes:
            if not pipe.poll(max(0.0, start + timeout_s - time.perf_counter())):
                raise RuntimeError(f"publishers not done within {timeout_s:.0f} s")
            pipe.recv()
        elapsed = time.perf_counter() - start
        for proc in self._procs:
            proc.join(10)
        return elapsed


def cpu_seconds(*pids: int) -> float:
    """User + system CPU time of live processes and of their live children, from /proc
    (Linux): a figure that a busy machine does not inflate the way it stretches wall time."""
    total = 0.0
    wanted = set(pids)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(entry.name) in wanted or int(fields[1]) in wanted:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total
