# A bounded ring of readings in a flash file, one JSON reading per line. Offline, readings
# wait here; beyond ``size`` the oldest are dropped (and counted in ``dropped``).
import json


class Ring:
    def __init__(self, fs, path, size):
        self.fs, self.path, self.size = fs, path, size
        self.dropped = 0

    def items(self):
        try:
            text = self.fs.read(self.path)
        except OSError:
            return []
        return [json.loads(line) for line in text.split("\n") if line]

    def append(self, reading):
        items = self.items() + [reading]
        if len(items) > self.size:
            self.dropped += len(items) - self.size
            items = items[-self.size:]
        self._write(items)

    def remove_first(self, n):
        self._write(self.items()[n:])

    def _write(self, items):
        self.fs.write(self.path, "".join(json.dumps(r) + "\n" for r in items))
