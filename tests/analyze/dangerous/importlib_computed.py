# importlib.import_module with a computed name.
# expect: dynamic_import@8 critical

import importlib
import os

plugin = os.environ.get("PLUGIN", "default")
module = importlib.import_module("plugins." + plugin)
module.run()
