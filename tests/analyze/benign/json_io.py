import json
import sys

data = json.loads(sys.stdin.read())
with open("out.json", "w") as f:
    json.dump({"count": len(data), "marshal": "no", "pickle": "no"}, f)
