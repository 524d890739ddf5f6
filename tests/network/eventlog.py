"""The servers' event log: JSON lines appended to a file, one per event."""
import json
import threading


class EventLog:
    """JSON lines appended to a file, one per event, flushed at once: the test reads the file
    while the server runs."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1)
        self.lock = threading.Lock()

    def write(self, entry):
        line = json.dumps(entry, sort_keys=True)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()
