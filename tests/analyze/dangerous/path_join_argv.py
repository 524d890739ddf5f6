# User input joined onto a base directory and opened, no containment check.
# expect: path_traversal@9

import os
import sys

BASE = "/srv/uploads"
requested = sys.argv[1]
full = os.path.join(BASE, requested)
with open(full, "rb") as f:
    print(f.read())
