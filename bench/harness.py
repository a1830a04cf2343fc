"""What every benchmark sets up alike: its options, a work folder, the local broker and
influxd (``iotgw.processes``), and the iotgw processes it starts, all stopped when it ends.
The scripts import it as a sibling (``bench/`` is on ``sys.path`` when one runs)."""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
