# Water-meter node: a reed switch's pulses, counted across deep sleep.
import json

from hal import Hal
from iotgw_node import readers
from iotgw_node.node import Node

with open("config.json") as f:
    config = json.loads(f.read())
hal = Hal(config)
Node(hal, config, lambda: readers.water_meter(hal.pulses(), config.get("litres_per_pulse", 1.0))).run()
