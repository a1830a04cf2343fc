# Soil-probe node: an RS-485 3-in-1 probe read with Modbus RTU.
import json

from hal import Hal
from iotgw_node import readers
from iotgw_node.node import Node

with open("config.json") as f:
    config = json.loads(f.read())
hal = Hal(config)
uart = hal.uart(9600)
Node(hal, config, lambda: readers.soil_probe(uart, config.get("unit_id", 1))).run()
