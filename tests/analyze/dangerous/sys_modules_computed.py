# sys.modules holds every loaded module, os included.
# expect: dynamic_import@7 critical

import sys

name = "o" + chr(115)
sys.modules[name].system("id")
