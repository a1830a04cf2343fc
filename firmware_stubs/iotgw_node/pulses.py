# Counting a water meter's reed-switch pulses: each falling edge is one pulse unless it
# comes within ``debounce_ms`` of the previous one (a bouncing contact).


class PulseCounter:
    def __init__(self, total=0, debounce_ms=50):
        self.total, self.debounce_ms = total, debounce_ms
        self._last_ms = None
        self.bounces = 0

    def edge(self, at_ms):
        """Called from the pin interrupt with ``time.ticks_ms()``."""
        if self._last_ms is not None and at_ms - self._last_ms < self.debounce_ms:
            self.bounces += 1
            return
        self._last_ms = at_ms
        self.total += 1
