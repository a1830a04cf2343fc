# iotgw sensor-node firmware (MicroPython-compatible); see ../README.md.
