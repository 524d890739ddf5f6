import os
import sys

BASE = os.path.realpath("/srv/uploads")
requested = sys.argv[1]
full = os.path.realpath(os.path.join(BASE, requested))
if os.path.commonpath([BASE, full]) != BASE:
    sys.exit("outside the upload directory")
with open(full, "rb") as f:
    print(len(f.read()))
