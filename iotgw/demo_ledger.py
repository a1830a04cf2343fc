"""The demo's ledger: where every reading the broker acknowledged went.

acknowledged = stored + kept apart as bad + dead-lettered + merged duplicates

- stored: points in ``telemetry`` (both databases), counted by InfluxDB;
- kept apart as bad: points in ``telemetry_bad`` (quality "bad": sent so, or flagged by
  ingest's policy), counted by InfluxDB;
- dead-lettered: readings of the fleet's devices in ingest's dead-letter store, counted
  letter by letter (the malformed payloads the fault injector sends are no device's
  readings and are not among the acknowledged ones, so they are left out);
- merged duplicates: readings InfluxDB stored as a point it already had (one point per
  device and time: a reading sent again, or two with the same device time). Nothing counts
  them one by one, so this term is the difference, and printed as such; it is never
  negative unless another term is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from iotgw.devices.telemetry import TelemetryEnvelope
from iotgw.ingest.dead_letters import DeadLetterStore
from iotgw.registry import device_intervals, make_engine, session_factory
from iotgw.tsdb import InfluxClient
from iotgw.tsdb.raw import count_readings
from iotgw.tsdb.schema import RAW_RP, TELEMETRY_BAD, personal_database


@dataclass(frozen=True, slots=True)
class Ledger:
    acknowledged: int
    stored: int
    bad: int
    dead_lettered: int

    @property
    def merged(self) -> int:
        return self.acknowledged - self.stored - self.bad - self.dead_lettered

    def lines(self) -> list[str]:
        return [f"ledger: readings acknowledged {self.acknowledged} = stored {self.stored}"
                f" + kept apart as bad {self.bad} + dead-lettered {self.dead_lettered}"
                f" + merged duplicates {self.merged}",
                "  stored, kept apart: counted by InfluxDB; dead-lettered: the fleet's readings in"
                " the dead-letter store;",
                "  merged duplicates: not counted one by one, the difference (readings stored on a"
                " point InfluxDB already had: same device and time)"]


def _count_bad(influx: InfluxClient, database: str) -> int:
    total = 0
    for db in (database, personal_database(database)):
        found = influx.query(db, f'SELECT count("quality") FROM "{RAW_RP}"."{TELEMETRY_BAD}"')
        total += int(found[0].rows[0]["count"]) if found else 0
    return total


def _readings_in(payload: bytes, devices: set[str]) -> int:
    """The fleet's readings in a dead letter: a telemetry batch has them listed (read as
    ingest reads one, readings unvalidated); a payload that is no batch holds none of theirs."""
    try:
        envelope = TelemetryEnvelope.model_validate_json(payload)
    except ValidationError:
        return 0
    return sum(1 for r in envelope.readings if isinstance(r, dict) and r.get("device") in devices)


def dead_lettered(path: Path, devices: set[str]) -> int:
    if not path.exists():
        return 0
    store = DeadLetterStore(path)
    try:
        return sum(_readings_in(letter.payload, devices) for letter in store.list(limit=store.count()))
    finally:
        store.close()


def ledger(influx: InfluxClient, database: str, dead_letters: Path, devices: set[str],
           acknowledged: int) -> Ledger:
    """Raises: TsdbError when InfluxDB cannot be read."""
    return Ledger(acknowledged, count_readings(influx, database), _count_bad(influx, database),
                  dead_lettered(dead_letters, devices))



def fleet_devices(registry_url: str) -> set[str]:
    """The registered devices: whose readings the gateways send."""
    engine = make_engine(registry_url)
    try:
        with session_factory(engine)() as session:
            return set(device_intervals(session))
    finally:
        engine.dispose()
