# Copies of iotgw's contract for a node that cannot import devices/ (checked by
# tests/firmware_stubs/test_contract.py).

SCHEMA_VERSION = 1
ROOT = "iot/v1"

# quantity -> unit, for the quantities these nodes send
QUANTITIES = {
    "soil_moisture": "%",
    "soil_temperature": "Cel",
    "soil_ec": "uS/cm",
    "pm2_5": "ug/m3",
    "water_volume": "m3",
}

# devices/library/renke_rs_ecth_n01.toml (a soil_probe): (quantity, address, signed, scale)
SOIL_PROBE_REGISTERS = (
    ("soil_moisture", 0, False, 0.1),
    ("soil_temperature", 1, True, 0.1),
    ("soil_ec", 2, False, 1.0),
)


def telemetry_topic(node_id):
    return ROOT + "/" + node_id + "/telemetry"


def status_topic(node_id):
    return ROOT + "/" + node_id + "/status"
