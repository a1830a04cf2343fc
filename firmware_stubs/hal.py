# The hardware layer on a MicroPython board (ESP32): UART, pulse pin, RTC, deep sleep,
# flash files, Wi-Fi and MQTT. Host tests replace it with fakes (tests/firmware_stubs/).
import json
import time

import esp32
import machine
import network
from iotgw_node.pulses import PulseCounter
from umqtt.simple import MQTTClient

EPOCH_2000_MS = 946684800000  # MicroPython's ESP32 port counts from 2000-01-01


class Hal:
    def __init__(self, config):
        self.config = config
        self.rtc = machine.RTC()

    def now_ms(self):
        return time.time() * 1000 + EPOCH_2000_MS

    def log(self, message):
        print(message)

    def read(self, path):
        with open(path) as f:
            return f.read()

    def write(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def load_state(self, key, default):
        try:
            return json.loads(self.read("state.json")).get(key, default)
        except (OSError, ValueError):
            return default

    def save_state(self, key, value):
        try:
            state = json.loads(self.read("state.json"))
        except (OSError, ValueError):
            state = {}
        state[key] = value
        self.write("state.json", json.dumps(state))

    def connect_network(self):
        wlan = network.WLAN(network.STA_IF)
        wlan.active(True)
        if not wlan.isconnected():
            wlan.connect(self.config["wifi_ssid"], self.config["wifi_password"])
            for _ in range(100):
                if wlan.isconnected():
                    break
                time.sleep_ms(100)
        return wlan.isconnected()

    def mqtt(self, client_id, server, port):
        if not self.connect_network():
            raise OSError("no Wi-Fi")
        return MQTTClient(client_id, server, port=port, keepalive=60)

    def uart(self, baudrate=9600):
        return machine.UART(2, baudrate=baudrate, tx=17, rx=16, timeout=1000)

    def pulses(self):
        """The meter's pulse total. Each pulse pulls the pin low, which wakes the board from
        deep sleep (ext0); the interrupt counts it, and the total lives in RTC memory,
        which deep sleep keeps."""
        memory = self.rtc.memory()
        counter = PulseCounter(total=int(memory) if memory else 0)
        pin = machine.Pin(self.config.get("pulse_pin", 4), machine.Pin.IN, machine.Pin.PULL_UP)
        if machine.reset_cause() == machine.DEEPSLEEP_RESET and machine.wake_reason() == machine.EXT0_WAKE:
            counter.edge(time.ticks_ms())  # the pulse that woke us
        pin.irq(trigger=machine.Pin.IRQ_FALLING, handler=lambda _: counter.edge(time.ticks_ms()))
        time.sleep_ms(200)  # pulses while awake
        self.rtc.memory(str(counter.total))
        esp32.wake_on_ext0(pin, esp32.WAKEUP_ALL_LOW)
        return counter.total

    def deep_sleep(self, seconds):
        machine.deepsleep(int(seconds * 1000))
