"""The firmware's copies of the contract still match devices/ (a node cannot import it)."""

from __future__ import annotations

from iotgw.devices import QUANTITIES, SCHEMA_VERSION, TelemetryBatch, status_topic, telemetry_topic
from iotgw.devices.register_maps import library_map
from iotgw_node import contract


def test_quantities_units_topics_and_schema_version() -> None:
    assert {name: QUANTITIES[name].unit for name in contract.QUANTITIES} == contract.QUANTITIES
    assert contract.SCHEMA_VERSION == SCHEMA_VERSION
    assert contract.telemetry_topic("n-1") == telemetry_topic("n-1")
    assert contract.status_topic("n-1") == status_topic("n-1")
    # ``ack`` (optional) asks ingest for end-to-end acknowledgement; a node sends none and is
    # done with a message at the broker's PUBACK, as gateways of the earlier contract.
    assert set(TelemetryBatch.model_fields) == {"v", "gateway", "seq", "replay", "ack", "readings"}


def test_the_soil_probe_register_map_is_the_profile_s() -> None:
    profile = library_map("renke_rs_ecth_n01")
    assert [(r.quantity, r.address, r.type == "int16", r.scale) for r in profile.registers] == [
        tuple(row) for row in contract.SOIL_PROBE_REGISTERS]
    assert all(r.function == 3 and r.size == 1 and r.offset == 0 for r in profile.registers)
