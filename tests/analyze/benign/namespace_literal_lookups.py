import importlib
import json
import sys


def handler():
    return "ok"


codec = sys.modules["json"]
dumps = vars(json)["dumps"]
name = globals()["__name__"]
fn = globals()["handler"]
config = {"mode": "fast"}
mode = vars(sys.flags)["optimize"] if hasattr(sys.flags, "optimize") else 0
loader = importlib.import_module("json." + "decoder")
print(codec.dumps({"name": name, "result": fn(), "mode": config["mode"]}), dumps, mode, loader)
