# Loading a module from a path given on the command line.
# expect: dynamic_import@7

import importlib.util
import sys

spec = importlib.util.spec_from_file_location("plugin", sys.argv[1])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
