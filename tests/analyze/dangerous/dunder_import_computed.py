# __import__ with a module name from the command line.
# expect: dynamic_import@7 critical

import sys

name = sys.argv[1]
mod = __import__(name)
mod.main()
