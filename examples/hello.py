"""A first sandboxed script: it prints, looks around, and writes its result to output/."""
import json
import os
import socket
import sys

who = sys.argv[1] if len(sys.argv) > 1 else "sandbox"
print(f"hello, {who}, from pid {os.getpid()} on host {socket.gethostname()!r}")
try:
    open("/etc/hive-run-was-here", "w")
except OSError as e:
    print(f"writing /etc is refused: {e.strerror}")
with open(os.path.join(os.environ["HIVE_OUTPUT"], "result.json"), "w") as f:
    json.dump({"greeted": who}, f)
print("result written to output/result.json")
