import importlib

json_mod = importlib.import_module("json")
math = __import__("math")
print(json_mod.dumps({"sqrt": math.sqrt(16)}))
