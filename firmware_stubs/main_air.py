# Air-quality node: a Plantower PMS5003 on a UART.
import json

from hal import Hal
from iotgw_node import readers
from iotgw_node.node import Node

with open("config.json") as f:
    config = json.loads(f.read())
hal = Hal(config)
uart = hal.uart(9600)
Node(hal, config, lambda: readers.air_quality(uart)).run()
